"""`manage.py contingency_pack --unit ID --out DIR`: a unit's contingency pack as files.

Writes the unit's active plans (PDF), the blank SIP forms and index.csv into DIR (created;
directories 0700, files 0600), and logs one export per plan's SIP and person by the system,
naming who ran it. Works in read-only mode too: it writes nothing to the database but the log,
and a planned maintenance is when a unit may want its plans on paper.
"""

import getpass

from django.core.management.base import BaseCommand, CommandError

from samplan.directory.models import Unit
from samplan.documents.contingency import SystemActor, pack_processes, write_pack_to


class Command(BaseCommand):
    help = "Write a unit's contingency pack (plan PDFs, blank forms, index.csv) into a directory."

    def add_arguments(self, parser):
        parser.add_argument("--unit", type=int, required=True, help="The unit's id.")
        parser.add_argument("--out", required=True, help="The directory to write to.")
        parser.add_argument(
            "--processes",
            type=int,
            default=0,
            help="Processes rendering the plans (default: SAMPLAN_PACK_PROCESSES, or one a core).",
        )

    def handle(self, *args, unit, out, processes, **options):
        found = Unit.objects.filter(pk=unit).select_related("organisation").first()
        if found is None:
            raise CommandError(f"No unit with id {unit}.")
        if not found.active:
            raise CommandError(f"The unit {found} is not active.")
        actor = SystemActor(f"manage.py contingency_pack ({getpass.getuser()})")
        contents = write_pack_to(
            found, out, actor=actor, processes=processes if processes > 0 else pack_processes()
        )
        self.stdout.write(f"{contents.plan_count} plans of {found} written to {out}")
