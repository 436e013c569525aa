"""The audit log: every read and write of personal data says who, from which unit and address,
which person and case, and what; refusals are logged; rows can never change or go away, neither
through the ORM nor beneath it (database triggers on SQLite and PostgreSQL)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from samplan.access.middleware import current_request_info
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import SipCase, State
from samplan.errors import DomainError, PermissionRefused
from tests.domain_helpers import audit_rows
from tests.factories import case_in_state

# --- What a row records -----------------------------------------------------------------------


@pytest.mark.django_db
def test_page_read_records_user_unit_case_person_action_and_address(county, client):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.bob)
    path = reverse("workspace:case_detail", args=[case.pk])
    response = client.get(path, REMOTE_ADDR="10.20.30.40")
    assert response.status_code == 200
    row = audit_rows(case, user=county.bob, action=AuditEvent.Action.READ, what="sip_case").get()
    assert row.outcome == AuditEvent.Outcome.ALLOWED
    assert row.username == "bob"
    assert row.unit_id == county.hemtjanst.pk
    assert row.unit_name == "Hemtjänst Norr"
    assert row.person_id == case.person_id
    assert row.ip_address == "10.20.30.40"
    assert row.path == path
    assert row.at is not None


@pytest.mark.django_db
def test_refused_page_read_is_logged_with_the_address(county, client):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.charlie)
    response = client.get(
        reverse("workspace:case_detail", args=[case.pk]), REMOTE_ADDR="192.0.2.99"
    )
    assert response.status_code == 404
    row = audit_rows(case, user=county.charlie).get()
    assert row.outcome == AuditEvent.Outcome.REFUSED
    assert row.person_id == case.person_id
    assert row.ip_address == "192.0.2.99"


@pytest.mark.django_db
def test_forwarded_address_is_ignored_unless_the_proxy_is_trusted(county, client, settings):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    path = reverse("workspace:case_detail", args=[case.pk])
    client.get(path, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    settings.SAMPLAN_TRUSTED_PROXIES = ["10.0.0.1"]
    # The client forged the first entry; the proxy appended the address it really saw.
    client.get(path, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.5")
    reads = audit_rows(case, action=AuditEvent.Action.READ).order_by("pk")
    assert list(reads.values_list("ip_address", flat=True)) == ["10.0.0.1", "203.0.113.5"]


@pytest.mark.django_db
def test_case_list_logs_one_read_per_case_shown(county, client):
    first = case_in_state(county, State.INITIATED)
    second = case_in_state(county, State.CONSENTED)
    case_in_state(county, State.INITIATED)  # alice's too, bob's unit takes no part
    client.force_login(county.bob)
    services.add_participant(first, actor=county.alice, unit=county.hemtjanst)
    services.add_participant(second, actor=county.alice, unit=county.hemtjanst)
    response = client.get(reverse("workspace:case_list"), REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 200
    rows = AuditEvent.objects.filter(user=county.bob, what="sip_case_list")
    assert sorted(rows.values_list("case_id", flat=True)) == [second.pk]  # first: no consent
    assert set(rows.values_list("ip_address", "unit_name")) == {("10.9.8.7", "Hemtjänst Norr")}


@pytest.mark.django_db
def test_service_write_records_the_address_of_the_request_that_caused_it(county):
    case = case_in_state(county, State.CONSENTED)
    token = current_request_info.set(("2001:db8::7", "/sip/1/forbered/"))
    try:
        services.start_preparation(case, actor=county.alice, expected_version=case.lock_version)
    finally:
        current_request_info.reset(token)
    row = audit_rows(case, action=AuditEvent.Action.CHANGE, what="preparation").get()
    assert (row.ip_address, row.path) == ("2001:db8::7", "/sip/1/forbered/")
    assert (row.user, row.unit_id, row.person_id) == (
        county.alice,
        county.vardcentral.pk,
        case.person_id,
    )


@pytest.mark.django_db
def test_outside_a_request_the_address_is_empty(county):
    case = case_in_state(county, State.INITIATED)
    row = audit_rows(case).get()
    assert (row.ip_address, row.path) == (None, "")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_refusal_is_committed_while_the_refused_transition_is_rolled_back(county):
    case = case_in_state(county, State.PREPARATION)
    with pytest.raises(PermissionRefused):
        services.close_case(
            case,
            actor=county.charlie,
            expected_version=case.lock_version,
            reason=SipCase.ClosingReason.OTHER,
            note="Försök",
        )
    assert not connection.in_atomic_block  # no test transaction: what we read is committed
    assert SipCase.objects.get(pk=case.pk).state == State.PREPARATION
    assert audit_rows(case, user=county.charlie, outcome=AuditEvent.Outcome.REFUSED).count() == 1


# --- Append-only ----------------------------------------------------------------------------


@pytest.fixture
def logged(county):
    case = case_in_state(county, State.INITIATED)
    return audit_rows(case).get()


def unchanged(row: AuditEvent) -> None:
    stored = AuditEvent.objects.filter(pk=row.pk).values("what", "username", "action").get()
    assert stored == {"what": row.what, "username": row.username, "action": row.action}


@pytest.mark.django_db
def test_existing_row_cannot_be_saved_again(logged):
    logged.what = "nothing to see"
    with pytest.raises(DomainError) as caught:
        logged.save()
    assert caught.value.code == "append_only"
    logged.refresh_from_db()
    assert logged.what == "sip_case"


@pytest.mark.django_db
def test_row_cannot_be_deleted_through_the_model(logged):
    with pytest.raises(DomainError):
        logged.delete()
    unchanged(logged)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "attempt",
    [
        lambda qs, row: qs.update(what="x"),
        lambda qs, row: qs.delete(),
        lambda qs, row: AuditEvent.objects.bulk_update([row], ["what"]),
        lambda qs, row: AuditEvent.objects.all().delete(),
    ],
    ids=["update", "delete", "bulk_update", "delete_all"],
)
def test_queryset_cannot_update_or_delete_rows(logged, attempt):
    logged.what = "x"
    with pytest.raises(DomainError), transaction.atomic():
        attempt(AuditEvent.objects.filter(pk=logged.pk), logged)
    logged.refresh_from_db()
    assert logged.what == "sip_case"


@pytest.mark.django_db
@pytest.mark.parametrize("operation", ["update", "delete"])
def test_plain_manager_beneath_the_model_is_stopped_by_the_database(logged, operation):
    plain = AuditEvent._base_manager.filter(pk=logged.pk)
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        if operation == "update":
            plain.update(what="x")
        else:
            plain.delete()
    assert "append-only" in str(caught.value)
    unchanged(logged)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE access_auditevent SET what = 'x' WHERE id = %s",
        "UPDATE access_auditevent SET ip_address = NULL, username = '' WHERE id = %s",
        "DELETE FROM access_auditevent WHERE id = %s",
    ],
)
def test_raw_sql_cannot_update_or_delete_a_row(logged, sql):
    with (
        pytest.raises(DatabaseError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [logged.pk])
    assert "append-only" in str(caught.value)
    unchanged(logged)


@pytest.mark.django_db
def test_raw_sql_cannot_empty_the_log(logged):
    """DELETE without WHERE on SQLite (which would otherwise truncate without row triggers) and
    TRUNCATE on PostgreSQL (which skips row triggers)."""
    sql = {
        "postgresql": "TRUNCATE access_auditevent",
        "sqlite": "DELETE FROM access_auditevent",
    }[connection.vendor]
    with (
        pytest.raises(DatabaseError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert "append-only" in str(caught.value)
    assert AuditEvent.objects.filter(pk=logged.pk).exists()


@pytest.mark.django_db
def test_new_rows_can_still_be_appended(logged):
    before = AuditEvent.objects.count()
    AuditEvent.objects.create(action=AuditEvent.Action.READ, what="sip_case")
    AuditEvent.objects.bulk_create([AuditEvent(action=AuditEvent.Action.PRINT, what="plan")])
    assert AuditEvent.objects.count() == before + 2
