from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "samplan.accounts"
    label = "accounts"
    verbose_name = "Sign-in"
