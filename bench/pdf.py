"""One plan as PDF, timed (issue 9: a plan PDF under 300 ms).

    .venv/bin/python bench/pdf.py [--cases 300] [--rounds 20]

Builds a synthetic county in a throwaway database (like bench/run.py: SQLite in a temporary
directory, or a throwaway database on the PostgreSQL server of DATABASE_URL), takes a valid plan
of typical size (the median number of interventions among the county's valid plans) and renders
it with `plan_pdf` in both layouts, `--rounds` times each after one warm-up (fonts loaded).
Each round also times the yardstick of bench/run.py (a bare view doing one indexed lookup), so
the two share whatever else the shared machine is doing. Prints median and p95 of each, and each
median over the yardstick's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from run import generated_county, percentile  # noqa: E402  (bench/run.py)

TARGET_MS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()

    with generated_county(options.cases, options.seed):
        from django.db.models import Count
        from django.test import Client

        from samplan.cases.models import PlanVersion
        from samplan.documents.plan_pdf import plan_pdf
        from samplan.people.models import Person

        plans = list(
            PlanVersion.objects.filter(status=PlanVersion.Status.VALID)
            .annotate(items=Count("interventions", distinct=True))
            .order_by("items", "pk")
            .values_list("pk", "items")
        )
        if not plans:
            raise SystemExit("No valid plan in the county: run with more --cases")
        plan_id, items = plans[len(plans) // 2]
        print(f"Plan version #{plan_id}: {items} interventions (median of {len(plans)} plans)")

        def render(layout: str) -> bytes:
            # Loaded afresh each time, as a download does: the queries are part of the time.
            return plan_pdf(PlanVersion.objects.get(pk=plan_id), layout=layout)

        client = Client()
        number = Person.objects.values_list("identity_number", flat=True).first()

        def yardstick() -> None:
            response = client.get(f"/bench/yardstick/{number}/")
            assert response.status_code == 200

        timed = {"yardstick": yardstick, "participants": lambda: render("participants")}
        timed["person"] = lambda: render("person")
        for call in timed.values():  # warm-up: fonts, templates, the first connection
            call()
        timings: dict[str, list[float]] = {name: [] for name in timed}
        # CPU time of this process as well: on a shared, loaded machine the wall clock waits
        # for the other processes too, the CPU time less so.
        cpu: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(options.rounds):
            for name, call in timed.items():
                started, started_cpu = time.perf_counter(), time.process_time()
                call()
                timings[name].append((time.perf_counter() - started) * 1000)
                cpu[name].append((time.process_time() - started_cpu) * 1000)

        yard = statistics.median(timings["yardstick"])
        print()
        print("| What | Rounds | Median ms | p95 ms | Median / yardstick | CPU median ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, values in timings.items():
            median = statistics.median(values)
            label = "yardstick" if name == "yardstick" else f"plan PDF, {name} layout"
            print(
                f"| {label} | {len(values)} | {median:.1f} | {percentile(values, 0.95):.1f} "
                f"| {median / yard:.0f} | {statistics.median(cpu[name]):.1f} |"
            )
        worst = max(statistics.median(timings[name]) for name in ("participants", "person"))
        print()
        print(
            f"Target: one plan PDF under {TARGET_MS:.0f} ms (median): "
            f"{'met' if worst < TARGET_MS else 'NOT met'} ({worst:.0f} ms)."
        )


if __name__ == "__main__":
    main()
