"""Contingency packs (beredskapspaket, issue 9): every active plan of a unit as PDF, the blank
forms and an index, built nightly, on demand and from the shell; kept per unit; audited.

Real PDFs are rendered and read back with pypdf; the ZIP and the CSV are read back as a unit
would read them."""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import PlanVersion, SipCase, State
from samplan.directory.models import Assignment
from samplan.documents.contingency import (
    BLANK_FORMS,
    INDEX_NAME,
    active_plans,
    build_pack,
    pack_zip,
    plan_file_name,
)
from samplan.documents.models import KEPT_PER_UNIT, ContingencyPack
from samplan.documents.tasks import build_contingency_pack, build_contingency_packs
from samplan.errors import PermissionRefused
from samplan.maintenance.mode import ReadOnlyRefused
from samplan.people.models import Person
from tests.factories import PersonFactory, case_in_state, complete_draft, staff

pytestmark = pytest.mark.django_db


# --- Helpers ----------------------------------------------------------------------------------


def read_zip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def read_index(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    return "\n".join(page.extract_text() for page in reader.pages)


def sv(text: str) -> str:
    with translation.override("sv"):
        return translation.gettext(text)


@pytest.fixture(autouse=True)
def one_process(settings):
    """Render in the test's own process (one test below forks, on purpose)."""
    settings.SAMPLAN_PACK_PROCESSES = 1


@pytest.fixture
def plans(county):
    """SIPs of alice's vårdcentral with bob's hemtjänst taking part, in every kind of state."""
    protected = PersonFactory(
        given_name="Åsa",
        family_name="Öberg",
        protection=Person.Protection.SEKRETESSMARKERING,
        address="Hemligvägen 7, Testby",
    )
    established = case_in_state(county, State.PLAN_ESTABLISHED, person=protected)
    follow_up = case_in_state(
        county, State.FOLLOW_UP, person=PersonFactory(given_name="Ärla", family_name="Andersson")
    )
    closed = case_in_state(county, State.CLOSED)
    meeting_called = case_in_state(county, State.MEETING_CALLED)
    services.save_plan_draft(
        meeting_called, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    # The kommun's consent revoked: hemtjänst no longer sees it; the coordinating unit keeps it.
    revoked = case_in_state(county, State.PLAN_ESTABLISHED)
    services.revoke_consent(
        revoked,
        actor=county.alice,
        expected_version=revoked.lock_version,
        organisations=[county.kommun],
    )
    return {
        "established": established,
        "follow_up": follow_up,
        "closed": closed,
        "draft_only": meeting_called,
        "revoked_for_kommun": revoked,
    }


def references(zip_files: dict[str, bytes]) -> set[str]:
    return {
        name.removeprefix("planer/").rsplit("-v", 1)[0]
        for name in zip_files
        if name.startswith("planer/")
    }


# --- What a pack holds ------------------------------------------------------------------------


def test_the_pack_holds_exactly_the_units_active_plans(county, plans):
    vardcentral = read_zip(pack_zip(county.vardcentral)[0])
    assert references(vardcentral) == {
        plans[key].reference for key in ("established", "follow_up", "revoked_for_kommun")
    }
    # Not the closed SIP, not the draft, and not a SIP after the kommun's consent was revoked.
    hemtjanst = read_zip(pack_zip(county.hemtjanst)[0])
    assert references(hemtjanst) == {plans[key].reference for key in ("established", "follow_up")}
    # A unit that takes part in none: blank forms and an empty index only.
    elsewhere = read_zip(pack_zip(county.elsewhere)[0])
    assert set(elsewhere) == {name for _, name in BLANK_FORMS} | {INDEX_NAME}
    assert read_index(elsewhere[INDEX_NAME])[1:] == []


def test_index_rows_match_the_plans_and_flag_protected_persons(county, plans):
    files = read_zip(pack_zip(county.vardcentral)[0])
    rows = read_index(files[INDEX_NAME])
    header, body = rows[0], rows[1:]
    assert header[0] == sv("SIP number") and len(header) == 9
    by_reference = {row[0]: row for row in body}
    assert len(body) == 3 == len(by_reference)
    # By the person's name: Andersson, then the rest.
    assert body[0][0] == plans["follow_up"].reference
    for key in ("established", "follow_up", "revoked_for_kommun"):
        case = plans[key]
        version = case.valid_plan()
        row = by_reference[case.reference]
        assert row[1] == case.person.full_name
        assert row[4] == county.vardcentral.name
        assert row[5] == str(version.number)
        assert row[6] == timezone.localdate(version.approved_at).isoformat()
        assert row[7] == version.follow_up_on.isoformat()
        assert row[8] == plan_file_name(version)
        assert row[8] in files
    protected = by_reference[plans["established"].reference]
    assert protected[1] == "Åsa Öberg"
    assert protected[2] == "", "a protected person: the name only"
    assert protected[3] == sv("Yes")
    open_person = by_reference[plans["follow_up"].reference]
    assert open_person[2] == plans["follow_up"].person.display_identity
    assert open_person[3] == ""
    assert "Hemligvägen" not in files[INDEX_NAME].decode("utf-8-sig")


def test_the_pdfs_open_and_print_each_plan_without_an_address(county, plans):
    files = read_zip(pack_zip(county.vardcentral)[0])
    for _, name in BLANK_FORMS:
        assert pdf_text(files[name]).strip()
    protected = plans["established"]
    text = pdf_text(files[plan_file_name(protected.valid_plan())])
    assert protected.reference in text
    assert "Åsa Öberg" in text
    assert "Hemligvägen" not in text
    for name, data in files.items():
        if name.endswith(".pdf"):
            assert "Hemligvägen" not in pdf_text(data), name


def test_a_name_is_never_a_formula_in_excel(county):
    case_in_state(county, State.PLAN_ESTABLISHED, person=PersonFactory(given_name="=HYPERLINK(1)"))
    rows = read_index(read_zip(pack_zip(county.vardcentral)[0])[INDEX_NAME])
    assert rows[1][1].startswith("'=HYPERLINK(1)")


# --- Building and keeping ---------------------------------------------------------------------


def test_the_nightly_task_builds_every_active_unit_and_keeps_two(county, plans):
    build_pack(county.elsewhere)
    county.elsewhere.active = False
    county.elsewhere.save()
    assert build_contingency_packs.call() == 2
    assert build_contingency_packs.call() == 2
    first_two = set(ContingencyPack.objects.values_list("pk", flat=True))
    assert build_contingency_packs.call() == 2
    for unit, count in ((county.vardcentral, 3), (county.hemtjanst, 2)):
        kept = ContingencyPack.objects.filter(unit=unit).order_by("-built_at", "-id")
        assert kept.count() == KEPT_PER_UNIT
        assert {pack.plan_count for pack in kept} == {count}
        assert all(pack.trigger == ContingencyPack.Trigger.SCHEDULE for pack in kept)
    assert not ContingencyPack.objects.filter(unit=county.elsewhere).exists()
    # The oldest of each unit went; the newest of the second run stayed.
    assert len(first_two & set(ContingencyPack.objects.values_list("pk", flat=True))) == 2
    pack = ContingencyPack.objects.filter(unit=county.vardcentral).first()
    import hashlib

    assert hashlib.sha256(bytes(pack.content)).hexdigest() == pack.sha256
    assert pack.size == len(bytes(pack.content))
    assert sorted(pack.cases) == sorted(
        [plans[k].pk, plans[k].person_id]
        for k in ("established", "follow_up", "revoked_for_kommun")
    )
    builds = AuditEvent.objects.filter(what="contingency_pack", unit_id=county.vardcentral.pk)
    assert builds.count() == 3
    row = builds.first()
    assert row.action == AuditEvent.Action.EXPORT
    assert row.user_id is None and row.username == "system: nightly contingency pack"
    assert row.detail == f"built pack #{pack.pk}: 3 plans"
    assert row.case_id is None, "a build keeps the data in Samplan: one row for the unit"


def test_the_one_unit_task_and_read_only_mode(county, plans, settings):
    assert build_contingency_pack.call(county.hemtjanst.pk) == 2
    assert build_contingency_pack.call(10**6) == 0
    settings.SAMPLAN_READ_ONLY = True
    assert build_contingency_packs.call() == 0
    assert build_contingency_pack.call(county.hemtjanst.pk) == 0
    assert ContingencyPack.objects.count() == 1


def test_the_service_refuses_staff_without_the_right_and_in_read_only_mode(county, plans, settings):
    with pytest.raises(PermissionRefused):
        build_pack(county.vardcentral, actor=county.bob)
    with pytest.raises(PermissionRefused):
        build_pack(county.hemtjanst, actor=county.alice)  # not her unit
    settings.SAMPLAN_READ_ONLY = True
    with pytest.raises(ReadOnlyRefused):
        build_pack(county.vardcentral, actor=county.alice)
    assert not ContingencyPack.objects.exists()


def test_active_plans_reads_a_constant_number_of_queries(county, plans):
    with CaptureQueriesContext(connection) as few:
        list(active_plans(county.vardcentral))
    case_in_state(county, State.PLAN_ESTABLISHED)
    case_in_state(county, State.FOLLOW_UP)
    with CaptureQueriesContext(connection) as more:
        assert len(list(active_plans(county.vardcentral))) == 5
    assert len(more) == len(few)


# --- The shell --------------------------------------------------------------------------------


def test_the_command_writes_the_pack_as_private_files_and_logs_each_plan(county, plans, tmp_path):
    out = tmp_path / "paket" / "vardcentral"
    output = io.StringIO()
    call_command("contingency_pack", unit=county.vardcentral.pk, out=str(out), stdout=output)
    assert "3 plans" in output.getvalue()
    files = {str(path.relative_to(out)): path for path in out.rglob("*") if path.is_file()}
    expected_plans = {
        plan_file_name(plans[k].valid_plan())
        for k in ("established", "follow_up", "revoked_for_kommun")
    }
    assert set(files) == expected_plans | {name for _, name in BLANK_FORMS} | {INDEX_NAME}
    for path in files.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "planer").stat().st_mode) == 0o700
    rows = read_index(files[INDEX_NAME].read_bytes())
    assert {row[8] for row in rows[1:]} == expected_plans
    for name in expected_plans:
        PdfReader(files[name])
    exports = AuditEvent.objects.filter(what="contingency_pack", action=AuditEvent.Action.EXPORT)
    assert exports.count() == 3
    assert {(row.case_id, row.person_id) for row in exports} == {
        (plans[k].pk, plans[k].person_id)
        for k in ("established", "follow_up", "revoked_for_kommun")
    }
    for row in exports:
        assert row.user_id is None
        assert row.username.startswith("manage.py contingency_pack (")
        assert row.unit_id == county.vardcentral.pk
        assert row.detail.startswith("wrote pack: 3 plans to ")


def test_the_command_overwrites_an_older_pack_and_refuses_an_unknown_unit(county, plans, tmp_path):
    index = tmp_path / INDEX_NAME
    index.write_text("old")
    index.chmod(0o644)
    call_command(
        "contingency_pack", unit=county.hemtjanst.pk, out=str(tmp_path), stdout=io.StringIO()
    )
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    assert len(read_index(index.read_bytes())) == 3
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("contingency_pack", unit=10**6, out=str(tmp_path / "x"))
    assert not Path(tmp_path / "x").exists()


# --- The staff page ---------------------------------------------------------------------------


def test_a_coordinator_builds_and_downloads_the_units_pack(client, county, plans):
    client.force_login(county.alice)
    page = client.get(reverse("workspace:contingency_packs"))
    assert page.status_code == 200
    assert f'data-testid="unit-{county.vardcentral.pk}"' in page.content.decode()
    assert 'data-testid="no-pack"' in page.content.decode()

    response = client.post(reverse("workspace:contingency_build", args=[county.vardcentral.pk]))
    assert response.status_code == 302
    pack = ContingencyPack.objects.get()
    assert (pack.unit, pack.trigger, pack.built_by, pack.plan_count) == (
        county.vardcentral,
        ContingencyPack.Trigger.STAFF,
        county.alice,
        3,
    )
    build_row = AuditEvent.objects.get(what="contingency_pack")
    assert (build_row.user, build_row.unit_id, build_row.case_id) == (
        county.alice,
        county.vardcentral.pk,
        None,
    )

    page = client.get(reverse("workspace:contingency_packs"))
    assert f'data-testid="pack-{pack.pk}"' in page.content.decode()
    download = client.get(reverse("workspace:contingency_download", args=[pack.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert pack.file_name in download["Content-Disposition"]
    assert references(read_zip(download.content)) == {
        plans[k].reference for k in ("established", "follow_up", "revoked_for_kommun")
    }
    taken_out = AuditEvent.objects.filter(what="contingency_pack", case__isnull=False)
    assert {(row.case_id, row.person_id, row.user_id) for row in taken_out} == {
        (plans[k].pk, plans[k].person_id, county.alice.pk)
        for k in ("established", "follow_up", "revoked_for_kommun")
    }
    assert all(row.detail == f"downloaded pack #{pack.pk}: 3 plans" for row in taken_out)


def test_the_unit_administrator_may_too(client, county, plans):
    chief = staff(county.hemtjanst, Assignment.Role.UNIT_ADMINISTRATOR, username="chef")
    client.force_login(chief)
    assert client.get(reverse("workspace:contingency_packs")).status_code == 200
    response = client.post(reverse("workspace:contingency_build", args=[county.hemtjanst.pk]))
    assert response.status_code == 302
    pack = ContingencyPack.objects.get(unit=county.hemtjanst)
    assert pack.plan_count == 2
    assert client.get(reverse("workspace:contingency_download", args=[pack.pk])).status_code == 200


def test_others_are_refused_and_the_refusal_is_logged(client, county, plans):
    pack = build_pack(county.vardcentral)
    # A participant of a unit taking part; a coordinator of another unit; a security officer.
    officer = staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sak")
    for user in (county.bob, officer):
        client.force_login(user)
        assert client.get(reverse("workspace:contingency_packs")).status_code == 403
    client.force_login(county.charlie)
    assert client.get(reverse("workspace:contingency_packs")).status_code == 200  # his own unit
    assert (
        client.post(
            reverse("workspace:contingency_build", args=[county.vardcentral.pk])
        ).status_code
        == 403
    )
    assert client.get(reverse("workspace:contingency_download", args=[pack.pk])).status_code == 403
    assert client.get(reverse("workspace:contingency_download", args=[10**6])).status_code == 403
    assert ContingencyPack.objects.count() == 1
    refused = AuditEvent.objects.filter(what="contingency_pack", outcome=AuditEvent.Outcome.REFUSED)
    assert refused.count() == 5
    assert refused.filter(user=county.charlie, unit_id=county.vardcentral.pk).count() == 2
    assert not AuditEvent.objects.filter(
        what="contingency_pack", outcome=AuditEvent.Outcome.ALLOWED, case__isnull=False
    ).exists(), "nothing was taken out"


def test_read_only_mode_refuses_a_build_but_not_a_download(client, county, plans, settings):
    pack = build_pack(county.vardcentral)
    settings.SAMPLAN_READ_ONLY = True
    client.force_login(county.alice)
    response = client.post(reverse("workspace:contingency_build", args=[county.vardcentral.pk]))
    assert response.status_code == 400
    assert ReadOnlyRefused().message in response.content.decode()
    assert ContingencyPack.objects.count() == 1
    assert client.get(reverse("workspace:contingency_download", args=[pack.pk])).status_code == 200


def test_the_list_page_reads_a_constant_number_of_queries(client, county, plans):
    client.force_login(county.alice)
    build_pack(county.vardcentral)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("workspace:contingency_packs")).status_code == 200
    build_pack(county.vardcentral)
    build_pack(county.vardcentral)
    Assignment.objects.create(
        user=county.alice, unit=county.hemtjanst, role=Assignment.Role.COORDINATOR
    )
    build_pack(county.hemtjanst)
    with CaptureQueriesContext(connection) as more:
        page = client.get(reverse("workspace:contingency_packs"))
    assert page.content.decode().count('data-testid="pack-') == 3
    assert len(more) == len(one)


def test_the_start_page_links_to_the_packs_for_those_who_may(client, county):
    link = reverse("workspace:contingency_packs")
    client.force_login(county.alice)
    assert link in client.get(reverse("workspace:start")).content.decode()
    client.force_login(county.bob)
    assert link not in client.get(reverse("workspace:start")).content.decode()


def test_a_pack_of_a_case_without_a_valid_plan_is_empty(county):
    case = case_in_state(county, State.MEETING_CALLED)
    assert not PlanVersion.objects.filter(case=case, status=PlanVersion.Status.VALID).exists()
    assert SipCase.objects.count() == 1
    assert pack_zip(county.vardcentral)[1].plan_count == 0


def test_rendering_in_forked_processes_gives_the_same_pack(county, plans):
    """The nightly build renders on every core: the same files, in the same order, and the
    processes read nothing from the database (they would raise)."""
    one, contents_one = pack_zip(county.vardcentral, processes=1)
    two, contents_two = pack_zip(county.vardcentral, processes=2)
    files_one, files_two = read_zip(one), read_zip(two)
    assert list(files_one) == list(files_two)
    assert files_one[INDEX_NAME] == files_two[INDEX_NAME]
    assert contents_one.cases == contents_two.cases
    for name, data in files_two.items():
        if name.startswith("planer/"):
            assert name.removeprefix("planer/").rsplit("-v", 1)[0] in pdf_text(data)


def test_a_pack_built_before_a_revocation_is_not_handed_out(client, county, plans):
    chief = staff(county.hemtjanst, Assignment.Role.UNIT_ADMINISTRATOR, username="chef")
    old = build_pack(county.hemtjanst)
    established = plans["established"]
    services.revoke_consent(
        established,
        actor=county.alice,
        expected_version=established.lock_version,
        organisations=[county.kommun],
    )
    client.force_login(chief)
    response = client.get(reverse("workspace:contingency_download", args=[old.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("workspace:contingency_packs")
    assert "Build a new pack" in response.content.decode() or "Skapa ett nytt paket" in (
        response.content.decode()
    )
    refused = AuditEvent.objects.get(what="contingency_pack", outcome=AuditEvent.Outcome.REFUSED)
    assert refused.case_id is None and refused.unit_id == county.hemtjanst.pk
    client.post(reverse("workspace:contingency_build", args=[county.hemtjanst.pk]))
    new = ContingencyPack.objects.filter(unit=county.hemtjanst).first()
    assert new.pk != old.pk and new.plan_count == 1
    download = client.get(reverse("workspace:contingency_download", args=[new.pk]))
    assert download.status_code == 200
    assert references(read_zip(download.content)) == {plans["follow_up"].reference}


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_scheduled_task(audit_log_flushable, county, plans):
    """As the scheduler enqueues it (settings.SAMPLAN_SCHEDULE) and `make worker` runs it (the
    worker closes its connections between tasks: a transactional test)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    entry = settings.SAMPLAN_SCHEDULE["contingency_packs"]
    import_string(entry["task"]).enqueue()
    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    assert set(ContingencyPack.objects.values_list("unit_id", "plan_count")) == {
        (county.vardcentral.pk, 3),
        (county.hemtjanst.pk, 2),
        (county.elsewhere.pk, 0),
    }
