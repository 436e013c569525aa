"""The contingency pack of a busy unit, timed (issue 9: 500 plans in under 60 s).

    .venv/bin/python bench/contingency.py [--cases 6000] [--rounds 1]

Builds a synthetic county in a throwaway database (like bench/run.py: SQLite in a temporary
directory, or a throwaway database on the PostgreSQL server of DATABASE_URL), takes the unit with
the most active plans (at 6 000 SIPs, a little over 500) and times `build_pack` for it as the
nightly task runs it (one rendering process a core): every plan rendered to PDF, the blank
forms, the index, the ZIP stored and the older packs pruned, the build audited. Beside it, in
the same run, the yardstick of bench/run.py (a bare view doing one indexed lookup), since the
machine is shared and absolute times drift; and one plan PDF alone, for the time per plan.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from run import generated_county  # noqa: E402  (bench/run.py: the same throwaway database)

TARGET_PLANS = 500
TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="pack builds to time")
    parser.add_argument("--yardstick", type=int, default=200, help="yardstick requests")
    parser.add_argument(
        "--processes", type=int, default=0, help="rendering processes (default: one a core)"
    )
    options = parser.parse_args()

    with generated_county(options.cases, options.seed):
        from django.test import Client

        from samplan.directory.models import Unit
        from samplan.documents.contingency import active_plans, build_pack, pack_processes
        from samplan.documents.models import ContingencyPack
        from samplan.documents.plan_pdf import plan_pdf
        from samplan.people.models import Person

        counts = sorted(
            ((active_plans(unit).count(), unit.pk) for unit in Unit.objects.filter(active=True)),
            reverse=True,
        )
        plans, unit_id = counts[0]
        unit = Unit.objects.get(pk=unit_id)
        print(f"Unit #{unit.pk} ({unit.name}): {plans} active plans")
        if plans < TARGET_PLANS:
            print(f"  fewer than {TARGET_PLANS}: run with more --cases")

        # The yardstick: a bare view, one indexed lookup.
        client = Client()
        number = Person.objects.values_list("identity_number", flat=True).first()
        client.get(f"/bench/yardstick/{number}/")
        yardstick = []
        for _ in range(options.yardstick):
            start = time.perf_counter()
            client.get(f"/bench/yardstick/{number}/")
            yardstick.append(time.perf_counter() - start)
        yardstick_ms = statistics.median(yardstick) * 1000

        # One plan PDF, warm (fonts and stylesheet loaded), for the time per plan.
        version = active_plans(unit).first()
        plan_pdf(version)
        singles = []
        for _ in range(5):
            start = time.perf_counter()
            plan_pdf(active_plans(unit).first())
            singles.append(time.perf_counter() - start)
        single_ms = statistics.median(singles) * 1000

        processes = options.processes or pack_processes()
        builds = []
        for _ in range(options.rounds):
            start = time.perf_counter()
            pack = build_pack(unit, processes=processes)
            builds.append(time.perf_counter() - start)
        seconds = statistics.median(builds)
        pack = ContingencyPack.objects.get(pk=pack.pk)
        with zipfile.ZipFile(io.BytesIO(bytes(pack.content))) as archive:
            files = len(archive.namelist())
        per_500 = seconds / max(plans, 1) * TARGET_PLANS

        print()
        print(f"yardstick (median of {options.yardstick}): {yardstick_ms:.2f} ms")
        print(f"one plan PDF (median of 5):     {single_ms:.0f} ms")
        print(
            f"contingency pack, {plans} plans:  {seconds:.1f} s "
            f"(median of {options.rounds}; {processes} processes on {os.cpu_count()} cores; "
            f"{pack.size / 1e6:.1f} MB, {files} files)"
        )
        print(
            f"  per plan {seconds / max(plans, 1) * 1000:.0f} ms; scaled to {TARGET_PLANS} plans "
            f"{per_500:.1f} s (target under {TARGET_SECONDS:.0f} s: "
            f"{'met' if per_500 < TARGET_SECONDS else 'NOT met'}); "
            f"{seconds * 1000 / yardstick_ms:,.0f} × the yardstick"
        )


if __name__ == "__main__":
    main()
