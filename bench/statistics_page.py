"""The statistics page at 1 000 000 SIPs, timed (issue 10: p95 ≤ 200 ms).

    .venv/bin/python bench/statistics_page.py [--cases 20000] [--scale-to 1000000] [--requests 50]

Builds a synthetic county in a throwaway database (like bench/run.py: SQLite in a temporary
directory, or a throwaway database on the PostgreSQL server of DATABASE_URL) and computes its
statistics from the timeline the way the worker does (`refresh_statistics(full=True)`, timed:
the first run of a new installation). The page reads only the monthly figures, one row per
scope and month, so what a million SIPs change for it is the size of the numbers in those rows,
not their number: the figures are then multiplied up to `--scale-to` SIPs (generating a million
SIPs takes the better part of an hour and gives the page the same rows). Then, signed in as the
coordinator of the busiest unit, it times the page for the own unit, the organisation and the
county (12 and 36 months) and the county's CSV, beside the yardstick of bench/run.py in the same
rounds, and prints median, p95 and queries of each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from run import (  # noqa: E402
    Page,
    busiest_coordinator,
    generated_county,
    measure,
    percentile,
    signed_in_client,
    table,
)

TARGET_P95_MS = 200.0


def scale_figures(factor: float) -> int:
    """Every count in the monthly figures multiplied by `factor`: the rows a county of that
    many more SIPs would have. The number of rows read by the page is unchanged."""
    from samplan.stats.models import MonthlyFigures

    rows = list(MonthlyFigures.objects.all())
    for row in rows:
        row.figures = {key: round(count * factor) for key, count in row.figures.items()}
    MonthlyFigures.objects.bulk_update(rows, ["figures"], batch_size=2000)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--scale-to", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=60, help="seconds per page at most")
    options = parser.parse_args()

    with generated_county(options.cases, options.seed) as generated:
        from django.utils import timezone

        from samplan.people.models import Person
        from samplan.stats.models import CaseFacts, MonthlyFigures
        from samplan.stats.refresh import COUNTY, organisation_scope, refresh_statistics
        from samplan.stats.views import _months_back

        started = time.perf_counter()
        computed = refresh_statistics(full=True)
        full_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = refresh_statistics()
        incremental_seconds = time.perf_counter() - started
        rows = MonthlyFigures.objects.count()
        print(
            f"Full refresh: {computed} SIPs in {full_seconds:.1f} s "
            f"({computed / full_seconds:,.0f} SIPs/s), {CaseFacts.objects.count()} facts, "
            f"{rows} monthly rows; an incremental refresh right after: {again} SIPs in "
            f"{incremental_seconds * 1000:.0f} ms"
        )
        factor = options.scale_to / generated["cases"]
        scale_figures(factor)
        print(f"Monthly figures scaled ×{factor:g}: as for {options.scale_to:,} SIPs")

        coordinator, busiest_cases = busiest_coordinator()
        client = signed_in_client(coordinator.user)

        last = timezone.localdate().replace(day=1)
        year = {"first": f"{_months_back(last, 11):%Y-%m}", "last": f"{last:%Y-%m}"}
        three_years = {"first": f"{_months_back(last, 35):%Y-%m}", "last": f"{last:%Y-%m}"}
        organisation = organisation_scope(coordinator.unit.organisation_id)
        number = Person.objects.values_list("identity_number", flat=True).first()

        def get(url, data=None):
            return lambda: client.get(url, data or {})

        pages = [
            Page(
                "Yardstick (one indexed lookup)",
                "/bench/yardstick/<identity number>/",
                get(f"/bench/yardstick/{number}/"),
            ),
            Page(
                "Statistics, own unit, 12 months",
                "/statistik/",
                get("/statistik/", year),
                shows="table-sips",
            ),
            Page(
                "Statistics, organisation, 12 months",
                "/statistik/?scope=organisation:…",
                get("/statistik/", {**year, "scope": organisation}),
                shows="table-sips",
            ),
            Page(
                "Statistics, county, 12 months",
                "/statistik/?scope=county",
                get("/statistik/", {**year, "scope": COUNTY}),
                shows="table-sips",
            ),
            Page(
                "Statistics, county, 36 months",
                "/statistik/?scope=county (36 months)",
                get("/statistik/", {**three_years, "scope": COUNTY}),
                shows="table-sips",
            ),
            Page(
                "Statistics CSV, county, 36 months",
                "/statistik/statistik.csv?scope=county",
                get("/statistik/statistik.csv", {**three_years, "scope": COUNTY}),
            ),
        ]
        print(
            f"Signed in as {coordinator.user.username}, coordinator at "
            f"{coordinator.unit.name} ({busiest_cases} SIPs take part there)"
        )
        measure(pages, options.requests, options.budget)
        print()
        print("\n".join(table(pages)))
        worst = max(percentile(page.timings, 0.95) for page in pages[1:])
        verdict = "met" if worst <= TARGET_P95_MS else "NOT met"
        print(f"\nSlowest statistics p95: {worst:.1f} ms (target {TARGET_P95_MS:.0f} ms: ", end="")
        print(f"{verdict})")


if __name__ == "__main__":
    main()
