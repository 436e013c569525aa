from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "samplan.directory"
    label = "directory"

    def ready(self):
        # Every grant of an assignment or an account role is audited (separation of duties).
        from . import checks, signals  # noqa: F401 (checks registers itself)

        signals.connect()
        # `<id:…>` in every address of the project (samplan/converters.py).
        from samplan import converters

        converters.register()
