"""Every edit carries the version it was based on: a stale edit is refused, the newer content is
handed back to be shown, and nothing is overwritten. The last test runs two real database
connections at once and, on PostgreSQL, proves the row lock that makes this safe."""

import threading
import time

import pytest
from django.db import OperationalError, connection

from samplan.cases import services
from samplan.cases.models import CaseEvent, Consent, PlanVersion, Preparation, SipCase, State
from samplan.cases.services import _core as services_core
from samplan.directory.models import Assignment, User
from samplan.errors import StaleEdit
from tests.domain_helpers import snapshot
from tests.factories import case_in_state, complete_draft, ready_to_establish, staff


def refused_as_stale(action) -> StaleEdit:
    with pytest.raises(StaleEdit) as caught:
        action()
    error = caught.value
    assert error.field == "version"
    assert "Inget har skrivits över" in error.sv
    assert "Nothing was overwritten" in error.en
    return error


# --- Case transitions -----------------------------------------------------------------------


@pytest.mark.django_db
def test_stale_case_transition_is_refused_with_the_current_case(county):
    case = case_in_state(county, State.CONSENTED)
    stand_in = staff(county.vardcentral, Assignment.Role.COORDINATOR, username="standin")
    seen_by_both = case.lock_version
    services.start_preparation(case, actor=county.alice, expected_version=seen_by_both)
    before = snapshot(case)

    error = refused_as_stale(
        lambda: services.close_case(
            SipCase.objects.get(pk=case.pk),
            actor=stand_in,
            expected_version=seen_by_both,
            reason=SipCase.ClosingReason.NO_LONGER_NEEDED,
        )
    )
    assert isinstance(error.current, SipCase)
    assert error.current.pk == case.pk
    assert error.current.state == State.PREPARATION
    assert error.current.lock_version == seen_by_both + 1
    assert snapshot(case) == before


@pytest.mark.django_db
def test_stale_consent_writes_no_consent(county):
    case = case_in_state(county, State.INFORMED)
    refused_as_stale(
        lambda: services.give_consent(
            case,
            actor=county.alice,
            expected_version=case.lock_version - 1,
            method=Consent.Method.WRITTEN,
            given_by=Consent.GivenBy.PERSON,
            given_by_name="Gunnel",
            organisations=[county.region],
            information_scope="Behov",
        )
    )
    assert not Consent.objects.filter(case=case).exists()
    assert SipCase.objects.get(pk=case.pk).state == State.INFORMED


# --- Preparation ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_stale_preparation_edit_is_refused_and_the_first_edit_stays(county):
    case = case_in_state(county, State.PREPARATION)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    seen_by_both = case.preparation.lock_version
    services.update_preparation(
        case,
        actor=county.alice,
        expected_version=seen_by_both,
        values={"preferred_place": "Hemma", "max_length_minutes": 45},
    )
    events = CaseEvent.objects.filter(case=case).count()

    error = refused_as_stale(
        lambda: services.update_preparation(
            case,
            actor=county.bob,
            expected_version=seen_by_both,
            values={"preferred_place": "Vårdcentralen", "max_length_minutes": 90},
        )
    )
    assert isinstance(error.current, Preparation)
    assert (error.current.preferred_place, error.current.max_length_minutes) == ("Hemma", 45)
    stored = Preparation.objects.get(case=case)
    assert (stored.preferred_place, stored.max_length_minutes) == ("Hemma", 45)
    assert stored.lock_version == seen_by_both + 1
    assert CaseEvent.objects.filter(case=case).count() == events


# --- The plan draft -------------------------------------------------------------------------


def save(county, case, actor, expected_version, text):
    return services.save_plan_draft(
        case,
        actor=actor,
        expected_version=expected_version,
        data=complete_draft(county, needs_today=text),
    )


@pytest.mark.django_db
def test_stale_plan_draft_is_refused_with_the_newer_draft(county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = save(county, case, county.alice, None, "Första utkastet")
    seen_by_both = draft.lock_version
    save(county, case, county.alice, seen_by_both, "Alice ändrade")

    error = refused_as_stale(lambda: save(county, case, county.bob, seen_by_both, "Bob ändrade"))
    assert isinstance(error.current, PlanVersion)
    assert error.current.pk == draft.pk
    assert error.current.needs_today == "Alice ändrade"
    assert PlanVersion.objects.get(pk=draft.pk).needs_today == "Alice ändrade"
    assert list(PlanVersion.objects.get(pk=draft.pk).goals.values_list("text", flat=True))


@pytest.mark.django_db
def test_two_new_drafts_started_at_once_do_not_overwrite_each_other(county):
    case = case_in_state(county, State.MEETING_CALLED)
    save(county, case, county.alice, None, "Alice började")
    error = refused_as_stale(lambda: save(county, case, county.bob, None, "Bob började"))
    assert error.current.needs_today == "Alice började"
    assert case.plan_versions.count() == 1


@pytest.mark.django_db
def test_draft_established_meanwhile_makes_the_edit_stale(county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = save(county, case, county.alice, None, "Utkast")
    ready_to_establish(case, county.alice)
    services.establish_plan(
        case,
        actor=county.alice,
        expected_version=draft.lock_version,
        approved_by=PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    error = refused_as_stale(lambda: save(county, case, county.bob, draft.lock_version, "Sent"))
    assert error.current == case.valid_plan()
    assert case.plan_versions.count() == 1
    assert case.valid_plan().needs_today == "Utkast"


@pytest.mark.django_db
def test_establishing_a_stale_draft_is_refused(county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = save(county, case, county.alice, None, "Det personen godkände")
    seen = draft.lock_version
    save(county, case, county.bob, seen, "Ändrat efter godkännandet")
    ready_to_establish(case, county.alice)
    error = refused_as_stale(
        lambda: services.establish_plan(
            case,
            actor=county.alice,
            expected_version=seen,
            approved_by=PlanVersion.ApprovedBy.PERSON,
            approved_by_name="Gunnel",
        )
    )
    assert error.current.needs_today == "Ändrat efter godkännandet"
    assert case.valid_plan() is None
    assert SipCase.objects.get(pk=case.pk).state == State.MEETING_CALLED


# --- Two real connections -------------------------------------------------------------------


def _waiting_on_a_lock() -> bool:
    """Another connection of this database waits for a lock while reading the case row (the
    query text is cut at 1 kB, so its FOR UPDATE tail may not show)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = %s AND query ILIKE %s",
            ["Lock", 'SELECT "cases_sipcase".%'],
        )
        return cursor.fetchone()[0] > 0


def _until(condition, seconds=15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_two_connections_saving_the_same_draft_version_one_wins_the_other_is_stale(
    county, monkeypatch
):
    """Alice and a stand-in both opened the draft at the same version and both press save, each
    request on its own database connection (a thread each).

    PostgreSQL: the first holds the case row lock (select_for_update in services._changing);
    the second is seen waiting on that lock, then reads the newer draft and is refused as stale.
    SQLite has no row locks; it lets one writer at a time (BEGIN IMMEDIATE). In the shared
    in-memory test database a second writer is turned away at once instead of queued, so there
    the second save fails with "locked", writes nothing, and when it tries again it is stale."""
    case = case_in_state(county, State.MEETING_CALLED)
    stand_in = staff(county.vardcentral, Assignment.Role.COORDINATOR, username="standin")
    draft = save(county, case, county.alice, None, "Grund")
    seen_by_both = draft.lock_version
    saves_before = CaseEvent.objects.filter(case=case, action="save_plan_draft").count()

    first_holds_lock = threading.Event()
    let_first_commit = threading.Event()
    original = services_core.acting_unit_for

    def hold_first(user, locked_case):  # called inside the locked transaction
        unit = original(user, locked_case)
        if threading.current_thread().name == "first":
            first_holds_lock.set()
            if not let_first_commit.wait(20):
                raise AssertionError("the test never let the first save commit")
        return unit

    monkeypatch.setattr(services_core, "acting_unit_for", hold_first)
    results = {}

    def run(name, user_pk, text):
        try:
            actor = User.objects.get(pk=user_pk)
            mine = SipCase.objects.get(pk=case.pk)
            results[name] = save(county, mine, actor, seen_by_both, text)
        except Exception as error:  # handed to the main thread
            results[name] = error
        finally:
            connection.close()  # this thread's own connection

    def start(name, user, text):
        thread = threading.Thread(target=run, args=(name, user.pk, text), name=name)
        thread.start()
        return thread

    first = start("first", county.alice, "Alice först")
    assert first_holds_lock.wait(20)
    second = start("second", stand_in, "Ersättaren sist")
    try:
        if connection.vendor == "postgresql":
            assert _until(_waiting_on_a_lock), "the second save did not wait for the row lock"
            assert second.is_alive()
            let_first_commit.set()
            first.join(20)
            second.join(20)
        else:
            second.join(20)
            assert isinstance(results["second"], OperationalError), results["second"]
            assert "locked" in str(results["second"])
            assert PlanVersion.objects.get(pk=draft.pk).needs_today == "Grund"
            let_first_commit.set()
            first.join(20)
            second = start("second", stand_in, "Ersättaren sist")
            second.join(20)
    finally:
        let_first_commit.set()
        first.join(20)
        second.join(20)

    assert isinstance(results["first"], PlanVersion), results["first"]
    stale = results["second"]
    assert isinstance(stale, StaleEdit), stale
    assert stale.current.needs_today == "Alice först"
    stored = PlanVersion.objects.get(pk=draft.pk)
    assert stored.needs_today == "Alice först"
    assert stored.lock_version == seen_by_both + 1
    assert stored.status == PlanVersion.Status.DRAFT
    assert CaseEvent.objects.filter(case=case, action="save_plan_draft").count() == saves_before + 1
