from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "samplan.accounts"
    label = "accounts"
    verbose_name = "Sign-in"

    def ready(self):
        # Connect the receivers: every sign-in's session gets its times; a removed second
        # factor is audited.
        from samplan.accounts import oidc_checks, sessions, signals  # noqa: F401
