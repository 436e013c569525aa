"""make bench: build a synthetic county in a throwaway database and time the staff pages.

    .venv/bin/python bench/run.py [--cases 100000] [--requests 50]

SQLite in a temporary SAMPLAN_VAR_DIR by default. With DATABASE_URL set, a throwaway database
is created on that PostgreSQL server (the database named in the URL is not touched) and
dropped afterwards. Signed in with Django's test Client as the coordinator whose unit takes part
in the most SIPs, it requests the case list and a case page, and prints the median and 95th
percentile time and the number of database queries of each. The test Client skips the network
and the web server, so these are the times of Django and the database alone.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def throwaway_database():
    """Point the settings at an empty database for the run, and remove it afterwards."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        with tempfile.TemporaryDirectory(prefix="samplan-bench-") as var_dir:
            os.environ["SAMPLAN_VAR_DIR"] = var_dir
            yield "SQLite (temporary file)"
        return
    import psycopg

    parts = urlsplit(url)
    name = f"samplan_bench_{os.getpid()}"
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield f"PostgreSQL (database {name} on {parts.hostname}:{parts.port or 5432})"
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(client, url: str, requests: int, budget: float) -> dict:
    """One untimed warm-up request, then up to `requests` timed ones, stopping early once they
    have taken `budget` seconds (so a slow page reports what it can instead of running for
    hours). The first timed request also counts the queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    check(client.get(url), url)
    timings = []
    with CaptureQueriesContext(connection) as queries:
        timings.append(timed(client, url))
    query_count = len(queries)  # now: the next request clears the connection's query log
    while len(timings) < requests and sum(timings) < budget * 1000:
        timings.append(timed(client, url))
    return {
        "url": url,
        "requests": len(timings),
        "median": statistics.median(timings),
        "p95": percentile(timings, 0.95),
        "queries": query_count,
    }


def timed(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    check(response, url)
    return elapsed


def check(response, url: str) -> None:
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--budget", type=float, default=120, help="seconds of timed requests per page at most"
    )
    options = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samplan.settings")
    with throwaway_database() as where:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db.models import Count
        from django.test import Client

        from samplan.access.services import cases_visible_to
        from samplan.cases.models import Participant, State
        from samplan.demo.synthetic import generate_county
        from samplan.directory.models import Assignment

        print(f"Database: {where}")
        call_command("migrate", verbosity=0)
        generated = generate_county(options.cases, seed=options.seed)
        print(
            f"Generated {generated['cases']} SIPs ({generated['rows']} rows) in "
            f"{generated['seconds']:.1f} s, ANALYZE {generated['analyze_seconds']:.1f} s"
        )

        busiest = (
            Participant.objects.filter(unit__assignments__role=Assignment.Role.COORDINATOR)
            .values("unit")
            .annotate(cases=Count("id"))
            .order_by("-cases")
            .first()
        )
        coordinator = (
            Assignment.objects.filter(unit=busiest["unit"], role=Assignment.Role.COORDINATOR)
            .select_related("user", "unit")
            .first()
        )
        user = coordinator.user
        visible = cases_visible_to(user)
        case = visible.filter(state=State.FOLLOW_UP).order_by("-pk").first()
        print(
            f"Signed in as {user.username}, coordinator at {coordinator.unit.name}: "
            f"{visible.count()} of {generated['cases']} SIPs visible"
        )

        client = Client()
        client.force_login(user)
        pages = [
            ("Case list, first page", "/sip/"),
            ("Case list, established plans", f"/sip/?state={State.PLAN_ESTABLISHED}"),
            ("Case list, overdue meeting calls", "/sip/?state=overdue"),
            ("Case page (follow-up, two plan versions)", f"/sip/{case.pk}/"),
        ]
        results = [
            (label, measure(client, url, options.requests, options.budget)) for label, url in pages
        ]

    print()
    print(f"Up to {options.requests} timed requests per page after one warm-up request:")
    print()
    print("| Page | URL | Requests | Median ms | p95 ms | Queries |")
    print("|---|---|---:|---:|---:|---:|")
    for label, result in results:
        print(
            f"| {label} | `{result['url']}` | {result['requests']} | {result['median']:.1f} "
            f"| {result['p95']:.1f} | {result['queries']} |"
        )


if __name__ == "__main__":
    main()
