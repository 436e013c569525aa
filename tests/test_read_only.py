"""Read-only mode for planned maintenance: every page stays readable (and reads are still
logged), every write is refused with a clear message and what was typed kept, nothing changes
in the database, and switching the mode on and off is audited."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import PlanVersion, Preparation, State
from samplan.directory.models import Unit
from samplan.maintenance.mode import (
    ReadOnlyRefused,
    guard,
    is_read_only,
    switch_off,
    switch_on,
    write_allowed,
)
from tests.citizens import sign_in_as_person
from tests.factories import case_in_state
from tests.test_api import system_for
from tests.test_mypages_meeting import preference_data
from tests.test_workspace_plan import meeting_started, posted

pytestmark = pytest.mark.django_db

BANNER_SV = "Läsläge: planerat underhåll"
REFUSED_SV = "Samplan är i läsläge för planerat underhåll"


def read_only_rows():
    return AuditEvent.objects.filter(what="read_only_mode").order_by("seq")


def test_the_command_switches_the_mode_on_and_off_and_each_switch_is_audited(capsys):
    assert not is_read_only()
    call_command("read_only", "on", "--message", "Klart kl. 06.00")
    assert is_read_only()
    call_command("read_only", "on")  # a second "on" changes nothing and logs nothing
    call_command("read_only", "status")
    out = capsys.readouterr().out
    assert "read-only mode on" in out and "was on already" in out and "on since" in out
    call_command("read_only", "off")
    assert not is_read_only()
    assert [row.detail for row in read_only_rows()] == ["on: Klart kl. 06.00", "off"]
    assert all(row.action == AuditEvent.Action.CHANGE for row in read_only_rows())
    assert read_only_rows().first().subject_username.startswith("manage.py read_only")


def test_pages_stay_readable_with_a_banner_and_reads_are_still_logged(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    assert (
        BANNER_SV
        not in client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    )
    switch_on("test", "Klart kl. 06.00")
    reads = AuditEvent.objects.filter(case_id=case.pk, action=AuditEvent.Action.READ).count()
    page = client.get(reverse("workspace:case_detail", args=[case.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert BANNER_SV in body and "Klart kl. 06.00" in body
    assert AuditEvent.objects.filter(case_id=case.pk, action=AuditEvent.Action.READ).count() > reads
    assert client.get(reverse("workspace:start")).status_code == 200


def test_a_case_page_with_unread_messages_stays_readable_and_marks_them_read(client, county):
    """Reading a thread records that it was read (the start page's unread count): reading
    needs that row, so read-only mode lets it through, in the workspace and the API."""
    case = case_in_state(county, State.MEETING_CALLED)
    message = services.post_message(case, actor=county.alice, body="Ring dottern i morgon.")
    switch_on("test")
    client.force_login(county.bob)
    page = client.get(reverse("workspace:case_detail", args=[case.pk]))
    assert page.status_code == 200
    assert "Ring dottern i morgon." in page.content.decode()
    assert message.reads.filter(user=county.bob).exists()
    _, system = system_for(county.hemtjanst)
    assert system.get(reverse("api:messages", args=[case.pk])).status_code == 200


def test_the_setting_alone_turns_it_on(client, county, settings):
    settings.SAMPLAN_READ_ONLY = True
    assert is_read_only()
    client.force_login(county.alice)
    assert BANNER_SV in client.get(reverse("workspace:start")).content.decode()


def test_a_plan_saved_in_read_only_mode_comes_back_with_what_was_typed_and_nothing_saved(
    client, county
):
    case = meeting_started(county)
    client.force_login(county.alice)
    switch_on("test")
    data = posted(county, needs_today="Behöver hjälp med att äta – skrivet under underhållet.")
    response = client.post(reverse("workspace:plan_edit", args=[case.pk]), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert REFUSED_SV in body
    assert "Behöver hjälp med att äta – skrivet under underhållet." in body
    assert not PlanVersion.objects.filter(case=case).exists()

    switch_off("test")
    response = client.post(reverse("workspace:plan_edit", args=[case.pk]), data)
    assert response.status_code in (200, 302)
    assert PlanVersion.objects.filter(case=case).count() == 1


def test_a_service_called_outside_a_request_is_refused_before_it_changes_anything(county):
    case = case_in_state(county, State.PREPARATION)
    switch_on("test")
    with pytest.raises(ReadOnlyRefused) as refused:
        services.update_preparation(
            case, actor=county.alice, expected_version=0, values={"preferred_place": "Hemma"}
        )
    assert "read-only" in refused.value.en
    assert not Preparation.objects.filter(case=case, preferred_place="Hemma").exists()


def test_the_person_in_min_sip_is_refused_too_and_keeps_what_they_typed(client, county):
    case = case_in_state(county, State.CONSENTED)
    sign_in_as_person(client, case)
    switch_on("test")
    page = client.get(reverse("mypages:preferences", args=[case.pk]))
    assert page.status_code == 200 and BANNER_SV in page.content.decode()
    response = client.post(reverse("mypages:preferences", args=[case.pk]), preference_data(0))
    assert response.status_code == 400
    body = response.content.decode()
    assert REFUSED_SV in body and 'value="Biblioteket"' in body
    assert not Preparation.objects.filter(case=case, preferred_place="Biblioteket").exists()


def test_a_write_outside_the_services_is_stopped_by_the_database_guard(admin_client, county):
    """The admin saves models directly; the guard refuses the UPDATE and says nothing was
    saved (503), and the unit keeps its name."""
    switch_on("test")
    unit = county.vardcentral
    response = admin_client.post(
        reverse("admin:directory_unit_change", args=[unit.pk]),
        {"organisation": unit.organisation_id, "name": "Omdöpt under underhållet", "active": "on"},
    )
    assert response.status_code == 503
    assert "Inget sparades" in response.content.decode()
    assert response["Retry-After"] == "600"
    assert Unit.objects.get(pk=unit.pk).name == unit.name


@pytest.mark.parametrize(
    ("sql", "allowed"),
    [
        ('SELECT "cases_sipcase"."id" FROM "cases_sipcase"', True),
        ('INSERT INTO "access_auditevent" ("at") VALUES (%s)', True),
        ('UPDATE "django_session" SET "session_data" = %s', True),
        ('INSERT INTO "cases_messageread" ("message_id") VALUES (%s)', True),
        ('UPDATE "directory_user" SET "last_login" = %s WHERE "directory_user"."id" = %s', True),
        ('UPDATE "directory_user" SET "password" = %s WHERE "directory_user"."id" = %s', False),
        ('INSERT INTO "cases_planversion" ("case_id") VALUES (%s)', False),
        ('UPDATE "cases_sipcase" SET "state" = %s', False),
        ('DELETE FROM "cases_consent" WHERE id = %s', False),
        ("  insert into cases_caseevent (case_id) values (%s)", False),
        ('INSERT OR IGNORE INTO "cases_consentscope" ("consent_id") VALUES (%s)', False),
    ],
)
def test_the_guard_lets_through_only_what_reading_needs(sql, allowed):
    assert write_allowed(sql) is allowed


def test_the_guard_refuses_a_raw_write_on_the_connection(county):
    with connection.execute_wrapper(guard):
        with pytest.raises(ReadOnlyRefused), transaction.atomic():
            Unit.objects.filter(pk=county.vardcentral.pk).update(name="Nytt namn")
        assert Unit.objects.filter(pk=county.vardcentral.pk).exists()  # reading still works
    assert Unit.objects.get(pk=county.vardcentral.pk).name != "Nytt namn"
