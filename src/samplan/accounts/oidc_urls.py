"""The two URLs of staff single sign-on, under the names mozilla-django-oidc gives them.

Its own URL module also offers `oidc_logout`, a second way out beside Samplan's sign-out (which
is the one that is audited), so only these two are taken."""

from django.urls import path

from samplan.accounts.oidc import SignInCallbackView, SignInRequestView

urlpatterns = [
    path("authenticate/", SignInRequestView.as_view(), name="oidc_authentication_init"),
    path("callback/", SignInCallbackView.as_view(), name="oidc_authentication_callback"),
]
