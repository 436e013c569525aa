"""make bench: build a synthetic county in a throwaway database and time the staff pages.

    .venv/bin/python bench/run.py [--cases 100000] [--requests 50] [--budget 120]

SQLite in a temporary SAMPLAN_VAR_DIR by default. With DATABASE_URL set, a throwaway database
is created on that PostgreSQL server (the database named in the URL is not touched) and
dropped afterwards. Signed in with Django's test Client as the coordinator whose unit takes part
in the most SIPs, it requests the start page, search by name and by personnummer, the case
list, a case page, the plan editor and saves the plan draft, beside a yardstick (bench/
yardstick.py: a bare view doing one indexed lookup). It prints the median and 95th percentile
time, the number of database queries of each, and each median over the yardstick's: the
machine is shared and absolute times drift from run to run, the ratio less. The test
Client skips the network and the web server, so these are the times of Django and the database
alone.

`--src DIR --pages yardstick,case_page` measures the source tree of another commit the same way
(`git archive <commit> | tar -x -C DIR/..`), for the pages it has: how "today's" pages compared.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
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


@contextmanager
def generated_county(cases: int, seed: int):
    """A throwaway database with Django set up on it, the yardstick's URLs in place, migrated and
    holding a synthetic county of `cases` SIPs; yields the generator's figures. For the
    standalone benchmarks beside this one (bench/pdf.py, bench/contingency.py)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samplan.settings")
    with throwaway_database() as where:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.urls import clear_url_caches

        from samplan.demo.synthetic import generate_county

        settings.ROOT_URLCONF = "yardstick"
        clear_url_caches()
        print(f"Database: {where}")
        call_command("migrate", verbosity=0)
        generated = generate_county(cases, seed=seed)
        print(f"Generated {generated['cases']} SIPs in {generated['seconds']:.1f} s")
        yield generated


def busiest_coordinator():
    """A coordinator's assignment at the unit that takes part in the most SIPs (Django set up)."""
    from django.db.models import Count

    from samplan.cases.models import Participant
    from samplan.directory.models import Assignment

    busiest = (
        Participant.objects.filter(unit__assignments__role=Assignment.Role.COORDINATOR)
        .values("unit")
        .annotate(cases=Count("id"))
        .order_by("-cases")
        .first()
    )
    coordinator = (
        Assignment.objects.filter(unit=busiest["unit"], role=Assignment.Role.COORDINATOR)
        .select_related("user", "unit__organisation")
        .first()
    )
    return coordinator, busiest["cases"]


def signed_in_client(user):
    """A test client signed in as `user`, as after both factors: the pages measured are the ones
    behind the second factor (a tree from before the second factor, `--src`, has no such mark)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    try:
        from samplan.accounts.factors import mark_two_factors
    except ImportError:
        return client
    request = type("Request", (), {"session": client.session})()
    mark_two_factors(request, "totp")
    request.session.save()
    return client


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Page:
    """One page to time: `send` makes one request and returns the response; `prepare`, if
    given, runs untimed before each request (a save reads the draft's current version);
    `expect` is the status a correct answer has (a save redirects); `shows`, if given, a
    pattern the warm-up answer must contain (a search that finds nothing would be fast and
    prove nothing)."""

    label: str
    url: str
    send: Callable[[], object]
    expect: int = 200
    shows: str = ""
    prepare: Callable[[], None] | None = None
    timings: list[float] = field(default_factory=list)
    queries: int = 0

    def request(self, *, count_queries: bool = False, check_content: bool = False) -> float:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        if self.prepare:
            self.prepare()
        # Recording queries costs a little, so only the request that counts them does it.
        with CaptureQueriesContext(connection) if count_queries else nullcontext() as captured:
            started = time.perf_counter()
            response = self.send()
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != self.expect:
            raise SystemExit(
                f"{self.label} ({self.url}) answered {response.status_code}, expected {self.expect}"
            )
        if check_content and self.shows and not re.search(self.shows, response.text):
            raise SystemExit(f"{self.label} ({self.url}) does not show {self.shows!r}")
        if count_queries:
            self.queries = len(captured)
        return elapsed


def measure(pages: list[Page], requests: int, budget: float) -> None:
    """One untimed warm-up request per page, then rounds of one timed request per page, so that
    the yardstick and the pages share whatever else the machine is doing meanwhile. A page
    leaves the rounds after `requests` requests or once its requests have taken `budget`
    seconds (so a slow page reports what it can instead of running for hours). The first timed
    request of each page also counts its queries."""
    for page in pages:
        page.request(check_content=True)
    first = True
    while True:
        waiting = [
            page
            for page in pages
            if len(page.timings) < requests and sum(page.timings) < budget * 1000
        ]
        if not waiting:
            return
        for page in waiting:
            page.timings.append(page.request(count_queries=first))
        first = False


def table(pages: list[Page]) -> list[str]:
    yardstick = statistics.median(pages[0].timings)
    lines = [
        "| Page | URL | Requests | Median ms | p95 ms | Queries | Median / yardstick |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for page in pages:
        median = statistics.median(page.timings)
        lines.append(
            f"| {page.label} | `{page.url}` | {len(page.timings)} | {median:.1f} "
            f"| {percentile(page.timings, 0.95):.1f} | {page.queries} "
            f"| {median / yardstick:.1f} |"
        )
    return lines


PAGES = (
    "yardstick",
    "start",
    "search_name",
    "search_number",
    "case_list",
    "case_page",
    "plan_editor",
    "plan_save",
    "my_sips",
    "my_plan",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--budget", type=float, default=120, help="seconds of timed requests per page at most"
    )
    parser.add_argument(
        "--pages",
        default=",".join(PAGES),
        help=f"which pages, comma-separated (default all: {','.join(PAGES)}); "
        "the yardstick is always measured",
    )
    parser.add_argument(
        "--src",
        type=Path,
        default=ROOT / "src",
        help="the Samplan source tree to measure (default: this checkout's src/)",
    )
    options = parser.parse_args()
    chosen = {"yardstick", *options.pages.split(",")}
    if unknown := chosen - set(PAGES):
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")

    sys.path.insert(0, str(options.src.resolve()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samplan.settings")
    # One user asks for a page many times a minute here: the search limit (30 a minute) would
    # answer 429. Its one query is still made and timed.
    os.environ.setdefault("SAMPLAN_SEARCH_RATE_LIMIT", str(10**9))
    with throwaway_database() as where:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client
        from django.urls import clear_url_caches
        from django.utils import timezone

        import samplan
        from samplan.access.services import cases_visible_to
        from samplan.cases.models import PlanVersion, State
        from samplan.demo.synthetic import generate_county
        from samplan.people.models import Person

        # The yardstick's URLs, which include every Samplan URL as well.
        sys.path.insert(0, str(ROOT / "bench"))
        settings.ROOT_URLCONF = "yardstick"
        clear_url_caches()

        print(f"Database: {where}")
        print(f"Source: {Path(samplan.__file__).parent}")
        call_command("migrate", verbosity=0)
        generated = generate_county(options.cases, seed=options.seed)
        print(
            f"Generated {generated['cases']} SIPs ({generated['rows']} rows) in "
            f"{generated['seconds']:.1f} s, ANALYZE {generated['analyze_seconds']:.1f} s"
        )

        coordinator, _ = busiest_coordinator()
        user = coordinator.user
        visible = cases_visible_to(user)
        # A SIP at follow-up whose plan draft this coordinator's unit may write.
        case = (
            visible.filter(
                state=State.FOLLOW_UP,
                participants__unit=coordinator.unit,
                participants__removed_at__isnull=True,
            )
            .select_related("person")
            .order_by("-pk")
            .first()
        )
        # Someone the coordinator may see, to find by family name and by personnummer.
        found = (
            visible.filter(
                person__identity_kind=Person.IdentityKind.PERSONNUMMER,
                person__protection=Person.Protection.NONE,
                # Under 100, so that the short form is written with "-", not "+".
                person__birth_date__gt=timezone.localdate() - timedelta(days=99 * 365),
            )
            .exclude(state=State.CLOSED)
            .select_related("person")
            .order_by("-pk")
            .first()
        )
        person = found.person
        personnummer = f"{person.identity_number[2:8]}-{person.identity_number[8:]}"
        print(
            f"Signed in as {user.username}, coordinator at {coordinator.unit.name}: "
            f"{visible.count()} of {generated['cases']} SIPs visible, "
            f"{visible.filter(person__family_name=person.family_name).count()} of them "
            f"of the family name searched for"
        )

        client = signed_in_client(user)
        plan_url = f"/sip/{case.pk}/plan/"
        saves: list[dict] = []
        # Min SIP: the person of a SIP at follow-up (an adult, so it is theirs to see), signed
        # in as e-legitimation would (a tree from before Min SIP has no such pages).
        person_client = Client()
        own = (
            visible.filter(
                state=State.FOLLOW_UP,
                person__birth_date__lt=timezone.localdate() - timedelta(days=19 * 365),
            )
            .select_related("person")
            .order_by("-pk")
            .first()
        )
        try:
            from samplan.access.citizen import SESSION_KEY, Citizen
        except ImportError:
            own = None
        else:
            session = person_client.session
            session[SESSION_KEY] = Citizen(own.person.identity_number, "Bench").to_session()
            session.save()

        def next_save():
            saves.append(plan_post_data(case, len(saves) + 1))

        def get(url):
            return lambda: client.get(url)

        any_case = r'href="/sip/[0-9]+/"'
        every = {
            "yardstick": Page(
                "Yardstick (one indexed lookup)",
                "/bench/yardstick/<identity number>/",
                get(f"/bench/yardstick/{person.identity_number}/"),
                shows=str(person.pk),
            ),
            "start": Page("Start page (Att göra)", "/start/", get("/start/"), shows=any_case),
            "search_name": Page(
                "Search by family name",
                f"POST /sip/sok/ q={person.family_name}",
                lambda: client.post("/sip/sok/", {"q": person.family_name}),
                shows=any_case,
            ),
            "search_number": Page(
                "Search by personnummer",
                "POST /sip/sok/ q=YYMMDD-NNNN",
                lambda: client.post("/sip/sok/", {"q": personnummer}),
                shows=f'href="/sip/{found.pk}/"',
            ),
            "case_list": Page("Case list, first page", "/sip/", get("/sip/"), shows=any_case),
            "case_page": Page(
                "Case page (follow-up, two plan versions)",
                f"/sip/{case.pk}/",
                get(f"/sip/{case.pk}/"),
                shows=person.family_name if found.pk == case.pk else "",
            ),
            "plan_editor": Page("Plan editor", plan_url, get(plan_url), shows="needs_today"),
            "plan_save": Page(
                "Save the plan draft",
                f"POST {plan_url}",
                lambda: client.post(plan_url, saves[-1]),
                expect=302,
                prepare=next_save,
            ),
        }
        if own is not None:
            every["my_sips"] = Page(
                "Min SIP: my SIPs",
                "/mina-sidor/",
                lambda: person_client.get("/mina-sidor/"),
                shows=f'href="/mina-sidor/sip/{own.pk}/"',
            )
            every["my_plan"] = Page(
                "Min SIP: my plan (follow-up)",
                f"/mina-sidor/sip/{own.pk}/plan/",
                lambda: person_client.get(f"/mina-sidor/sip/{own.pk}/plan/"),
                shows="tel:|govuk-summary-list",
            )
        pages = [every[key] for key in PAGES if key in chosen and key in every]
        draft_before = case.draft_plan().lock_version
        measure(pages, options.requests, options.budget)
        draft = PlanVersion.objects.get(case=case, status=PlanVersion.Status.DRAFT)
        # Every save answered 302; this checks that each one really wrote the draft.
        if draft.lock_version != draft_before + len(saves) or (
            saves and not draft.needs_today.endswith(f"({len(saves)})")
        ):
            raise SystemExit(
                f"{len(saves)} saves took the plan draft from version {draft_before} to "
                f"{draft.lock_version}, needs_today {draft.needs_today!r}"
            )
        if saves:
            print(
                f"The {len(saves)} saves took the draft from version {draft_before} to "
                f"{draft.lock_version}; it has {draft.goals.count()} goal(s) and "
                f"{draft.interventions.count()} intervention(s)."
            )

    print()
    print(
        f"Up to {options.requests} timed requests per page after one warm-up request each, "
        f"the pages in turn:"
    )
    print()
    for line in table(pages):
        print(line)


def plan_post_data(case, number: int) -> dict:
    """What the plan editor posts for the case's draft as it is now: every field of the form
    (workspace/forms/plan.py) as the editor fills them, the draft's current lock_version, and
    the needs text changed so that each save writes something new."""
    from samplan.cases.models import PLAN_PARTS, PlanVersion
    from samplan.workspace.forms.plan import plan_data
    from samplan.workspace.views.plan import suggested_attendees

    draft = case.plan_versions.prefetch_related(*PLAN_PARTS).get(status=PlanVersion.Status.DRAFT)
    data = plan_data(draft, attendees=suggested_attendees(case))
    data["needs_today"] = f"{draft.needs_today.split(' (')[0]} ({number})"
    return data


if __name__ == "__main__":
    main()
