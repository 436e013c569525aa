from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "samplan.people"
    label = "people"
