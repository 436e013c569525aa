from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "samplan.access"
    label = "access"
