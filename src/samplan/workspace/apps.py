from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "samplan.workspace"
    label = "workspace"
