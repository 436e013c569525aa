"""The staff workspace, a module per step of the SIP process. Each module has plain function
views that read top to bottom and its own `urlpatterns`; workspace/urls.py joins them.

Cases are reached only through samplan.access (cases_visible_to / get_case_for), which also
writes the audit log; every change goes through samplan.cases.services, run for a form by
samplan.workspace.actions.attempt."""
