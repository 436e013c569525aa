from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from samplan.workspace.views import case as workspace_views

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path(
        "konto/logga-in/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("konto/logga-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("samplan.workspace.urls")),
]
