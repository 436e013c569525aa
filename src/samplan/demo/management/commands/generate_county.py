"""manage.py generate_county --cases N [--seed S]: synthetic data for benchmarks."""

from django.core.management.base import BaseCommand, CommandError

from samplan.demo.synthetic import BATCH, generate_county


class Command(BaseCommand):
    help = (
        "Generate a synthetic county with N SIPs spread over every state, with bulk inserts, "
        "for benchmarks. Synthetic data: it bypasses the case services (see "
        "samplan/demo/synthetic/) and must never go into a real database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="How many SIPs to make.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--batch-size", type=int, default=BATCH, help=f"Rows per bulk insert (default {BATCH})."
        )

    def handle(self, *args, cases: int, seed: int, batch_size: int, **options):
        if cases < 1:
            raise CommandError("--cases must be at least 1.")
        verbose = options["verbosity"] > 1
        result = generate_county(
            cases, seed=seed, batch_size=batch_size, log=self.stdout.write if verbose else None
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {result['cases']} SIPs ({result['rows']} rows) in "
                f"{result['seconds']:.1f} s, then ANALYZE in {result['analyze_seconds']:.1f} s."
            )
        )
