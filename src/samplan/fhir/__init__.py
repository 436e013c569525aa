"""FHIR R4B export of a SIP (issue 10): export.case_bundle and `manage.py export_fhir`."""
