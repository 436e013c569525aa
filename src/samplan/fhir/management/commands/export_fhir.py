"""`manage.py export_fhir --case ID [--out FILE]`: one SIP as a FHIR R4B Bundle in JSON.

For the operator (a region's integration, a migration, a request from the person): it reads the
case directly, as contingency_pack does, and the audit log names the command and the OS user who
ran it, with the case and the person, so the person's log extract shows the disclosure. The row
is written before the Bundle leaves: a failed write overstates the log, never understates it.
"""

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.cases.models import SipCase
from samplan.documents.contingency import SystemActor
from samplan.fhir.export import case_bundle


class Command(BaseCommand):
    help = "Write one SIP as a FHIR R4B Bundle (JSON) to a file (mode 0600) or stdout."

    def add_arguments(self, parser):
        parser.add_argument("--case", type=int, required=True, help="The SIP's id.")
        parser.add_argument("--out", default="", help="The file to write (default: stdout).")

    def handle(self, *args, case, out, **options):
        found = SipCase.objects.filter(pk=case).first()
        if found is None:
            raise CommandError(f"No SIP with id {case}.")
        text = case_bundle(found).model_dump_json(indent=2)
        actor = SystemActor(f"manage.py export_fhir ({getpass.getuser()})")
        audit(
            actor,
            AuditEvent.Action.EXPORT,
            "fhir_bundle",
            case_id=found.pk,
            person_id=found.person_id,
        )
        if not out:
            self.stdout.write(text)
            return
        # Created 0600 from the start, and narrowed if the file was already there: personal data.
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        self.stdout.write(f"{found.reference} written to {out}")
