"""The account pages under /konto/. Sign-in and sign-out keep their own names (`login`,
`logout`) in samplan/urls.py, where every template finds them."""

from django.urls import path

from samplan.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("andra-steget/", views.second_factor, name="second_factor"),
    path("aktivera/", views.enrol, name="enrol"),
    path("reservkoder/", views.backup_codes, name="backup_codes"),
    path("logga-ut-overallt/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("byt-losenord/", views.password_change, name="password_change"),
]
