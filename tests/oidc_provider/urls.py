from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("testing/clients/", views.add_client),
    path("testing/users/", views.add_user),
]
