"""The audit log is a keyed hash chain: `manage.py audit_verify` passes an intact log and names the
first row that was changed, deleted, inserted or reordered beneath the app (on PostgreSQL, as the
superuser these tests connect as, with the append-only triggers switched off); two connections
writing at once never fork the chain; committed rows are copied outside the database."""

import datetime as dt
import importlib
import json
import socket
import threading
import time

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext, override_settings

from samplan.access import chain
from samplan.access.models import AuditEvent
from samplan.access.services import audit, log_list_reads
from samplan.cases.models import State
from tests.factories import case_in_state

Action = AuditEvent.Action
MIGRATION = importlib.import_module("samplan.access.migrations.0006_chain_existing_rows")


def verified(*args) -> str:
    return _run(*args)


def broken(*args) -> str:
    with pytest.raises(CommandError) as caught:
        _run(*args)
    assert caught.value.returncode == 1
    return str(caught.value)


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def written(county, count=4) -> list[AuditEvent]:
    """`count` rows through the one writer, after those the county's grants wrote."""
    events = [audit(county.alice, Action.READ, f"sip_case_{number}") for number in range(count)]
    return [AuditEvent.objects.get(pk=event.pk) for event in events]


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


class triggers_off:
    """What an attacker holding the superuser (or the owner role) can do beneath the app."""

    def __enter__(self):
        sql("ALTER TABLE access_auditevent DISABLE TRIGGER USER")

    def __exit__(self, *exc):
        sql("ALTER TABLE access_auditevent ENABLE TRIGGER USER")


# --- The chain, on both databases -----------------------------------------------------------


@pytest.mark.django_db
def test_each_row_takes_the_next_seq_and_hashes_the_row_before(county):
    head = AuditEvent.objects.order_by("-seq").first()
    rows = written(county, 3)
    case = case_in_state(county, State.PREPARATION)
    case.acting_unit_id = county.vardcentral.pk  # as cases_visible_to annotates it
    log_list_reads(county.alice, [case, case])

    chained = list(AuditEvent.objects.filter(seq__gt=head.seq).order_by("seq"))
    assert [row.seq for row in chained] == list(range(head.seq + 1, head.seq + len(chained) + 1))
    assert chained[:3] == rows
    previous = head.chain_hash
    for row in chained:
        assert row.chain_hash == chain.link(
            previous, {name: getattr(row, name) for name in chain.FIELDS}, chain.audit_key()
        )
        previous = row.chain_hash
    assert len(set(AuditEvent.objects.values_list("chain_hash", flat=True))) == chained[-1].seq

    summary = verified()
    assert summary.startswith(f"Audit log intact: {chained[-1].seq} rows checked from seq 1")
    assert f"head seq {chained[-1].seq}" in summary


@pytest.mark.django_db
def test_a_call_reads_the_head_and_inserts_its_rows_in_one_statement(county):
    events = [AuditEvent(action=Action.READ, what=f"row {n}") for n in range(3)]
    with CaptureQueriesContext(connection) as queries:
        chain.write_events(events)
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 2, statements
    assert statements[1].startswith('INSERT INTO "access_auditevent"')
    assert [event.seq for event in events] == [events[0].seq, events[0].seq + 1, events[0].seq + 2]


@pytest.mark.django_db
def test_every_field_is_covered_by_the_hash(county):
    row = written(county, 1)[0]
    values = {name: getattr(row, name) for name in chain.FIELDS}
    original = chain.link(chain.GENESIS, values, b"k")
    changes = {
        "seq": row.seq + 1,
        "at": row.at + dt.timedelta(microseconds=1),
        "user_id": 999,
        "username": "mallory",
        "unit_id": 998,
        "unit_name": "x",
        "organisation_id": 997,
        "organisation_name": "x",
        "person_id": 996,
        "case_id": 995,
        "action": Action.PRINT,
        "outcome": AuditEvent.Outcome.REFUSED,
        "what": "x",
        "ip_address": "10.0.0.9",
        "path": "/x/",
        "subject_user_id": 994,
        "subject_username": "x",
        "detail": "x",
        "emergency": True,
        "citizen_role": "guardian",
        "citizen_party_id": 993,
    }
    assert set(changes) == set(chain.FIELDS)
    for name, value in changes.items():
        assert chain.link(chain.GENESIS, {**values, name: value}, b"k") != original, name
    # One address, two spellings (PostgreSQL's inet hands IPv6 back lowercased and shortened).
    assert chain.canonical({**values, "ip_address": "2001:DB8:0:0::1"}) == chain.canonical(
        {**values, "ip_address": "2001:db8::1"}
    )


@pytest.mark.django_db
def test_a_wrong_key_fails_verification_at_the_first_row(county):
    written(county, 2)
    first = AuditEvent.objects.order_by("seq").first()
    with override_settings(SAMPLAN_AUDIT_KEY="not the key the log was written with"):
        message = broken()
    assert f"row id {first.pk}, seq 1:" in message
    assert "SAMPLAN_AUDIT_KEY" in message
    verified()


@pytest.mark.django_db
def test_a_row_written_beside_the_chain_is_named(county):
    written(county, 2)
    AuditEvent.objects.bulk_create([AuditEvent(action=Action.READ, what="sip_case")])
    outsider = AuditEvent.objects.get(seq__isnull=True)
    message = broken()
    assert f"row id {outsider.pk}, seq None: not in the chain" in message


@pytest.mark.django_db
def test_verifying_from_a_later_seq_checks_only_the_rows_after_it(county):
    rows = written(county, 4)
    summary = verified("--from-seq", str(rows[2].seq), "--batch", "2")
    assert f"2 rows checked from seq {rows[2].seq}, head seq {rows[3].seq}" in summary
    assert "no such row" in broken("--from-seq", str(rows[3].seq + 2))


@pytest.mark.django_db
def test_the_log_must_reach_the_last_row_of_its_copy(county, tmp_path):
    rows = written(county, 2)
    copy = tmp_path / "audit.jsonl"
    line = {"seq": rows[-1].seq, "chain_hash": rows[-1].chain_hash}
    copy.write_text(json.dumps({"seq": 1, "chain_hash": "x"}) + "\n" + json.dumps(line) + "\n")
    assert "matches its copy" in verified("--copy", str(copy))

    copy.write_text(json.dumps({**line, "seq": rows[-1].seq + 3}) + "\n")
    message = broken("--copy", str(copy))
    assert f"holds seq {rows[-1].seq + 3} but the log ends at seq {rows[-1].seq}" in message

    copy.write_text(json.dumps({**line, "chain_hash": "0" * 64}) + "\n")
    assert f"row seq {rows[-1].seq} differs from its copy" in broken("--copy", str(copy))


# --- Tampering beneath the app, on PostgreSQL -----------------------------------------------


@pytest.mark.needs_postgresql
@pytest.mark.django_db
def test_a_row_changed_with_the_triggers_off_is_named(county):
    rows = written(county)
    verified()
    with triggers_off():
        sql("UPDATE access_auditevent SET username = 'someone' WHERE id = %s", [rows[1].pk])
    message = broken()
    assert f"row id {rows[1].pk}, seq {rows[1].seq}: its hash does not match" in message
    assert "changed after it was written" in message


@pytest.mark.needs_postgresql
@pytest.mark.django_db
def test_a_deleted_row_is_named_by_the_gap_it_leaves(county):
    rows = written(county)
    with triggers_off():
        sql("DELETE FROM access_auditevent WHERE id = %s", [rows[1].pk])
    message = broken()
    assert f"row id {rows[2].pk}, seq {rows[2].seq}: seq {rows[1].seq} missing" in message
    assert "deleted" in message


@pytest.mark.needs_postgresql
@pytest.mark.django_db
def test_a_backdated_row_inserted_with_a_guessed_seq_and_hash_is_named(county):
    rows = written(county)
    head = rows[-1]
    backdated = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    forged = AuditEvent(at=backdated, user=county.bob, username="bob", action="read", what="x")
    values = {name: getattr(forged, name) for name in chain.FIELDS} | {"seq": head.seq + 1}
    guessed = chain.link(head.chain_hash, values, b"a guessed key")
    # INSERT is what the app role may do: no triggers need to be switched off.
    sql(
        "INSERT INTO access_auditevent (at, user_id, username, unit_name, organisation_name, "
        "action, outcome, what, path, subject_username, detail, emergency, seq, chain_hash) "
        "VALUES (%s, %s, 'bob', '', '', 'read', 'allowed', 'x', '', '', '', false, %s, %s)",
        [backdated, county.bob.pk, head.seq + 1, guessed],
    )
    forged_id = AuditEvent.objects.get(seq=head.seq + 1).pk
    assert f"row id {forged_id}, seq {head.seq + 1}: its hash does not match" in broken()


@pytest.mark.needs_postgresql
@pytest.mark.django_db
def test_a_row_slipped_into_the_middle_is_named(county):
    rows = written(county)
    middle = rows[1]
    with triggers_off():
        # Make room: move every later row one place on (from the top: seq is unique).
        sql("UPDATE access_auditevent SET seq = -seq - 1 WHERE seq >= %s", [middle.seq])
        sql("UPDATE access_auditevent SET seq = -seq WHERE seq < 0")
        sql(
            "INSERT INTO access_auditevent (at, username, unit_name, organisation_name, action, "
            "outcome, what, path, subject_username, detail, emergency, seq, chain_hash) "
            "VALUES (%s, 'bob', '', '', 'read', 'allowed', 'x', '', '', '', false, %s, %s)",
            [middle.at, middle.seq, middle.chain_hash],
        )
    slipped = AuditEvent.objects.get(seq=middle.seq)
    assert f"row id {slipped.pk}, seq {middle.seq}: its hash does not match" in broken()


@pytest.mark.needs_postgresql
@pytest.mark.django_db
def test_two_rows_with_their_contents_swapped_are_named(county):
    rows = written(county)
    first, second = rows[1], rows[2]
    with triggers_off():
        for row, other in ((first, second), (second, first)):
            sql(
                "UPDATE access_auditevent SET what = %s, at = %s WHERE id = %s",
                [other.what, other.at, row.pk],
            )
    assert f"row id {first.pk}, seq {first.seq}: its hash does not match" in broken()


@pytest.mark.needs_postgresql
@pytest.mark.django_db
def test_two_rows_swapped_whole_are_named_by_their_order(county):
    rows = written(county)
    first, second = rows[1], rows[2]
    with triggers_off():
        sql("UPDATE access_auditevent SET seq = -seq WHERE id IN (%s, %s)", [first.pk, second.pk])
        sql("UPDATE access_auditevent SET seq = %s WHERE id = %s", [second.seq, first.pk])
        sql("UPDATE access_auditevent SET seq = %s WHERE id = %s", [first.seq, second.pk])
    message = broken()
    assert f"row id {second.pk}, seq {first.seq}:" in message


# --- Two writers at once, on PostgreSQL -----------------------------------------------------


def _waiting_on_the_chain_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
            "AND wait_event = 'advisory'"
        )
        return cursor.fetchone()[0] > 0


def _until(condition, seconds=15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_two_connections_writing_at_once_never_fork_the_chain(county):
    """The second writer waits for the first one's transaction (it holds the chain lock from its
    head read until it commits), then chains onto the row the first committed. Then two threads
    write as fast as they can, one row and three rows a call, and the chain stays one line."""
    first_wrote, let_first_commit = threading.Event(), threading.Event()
    failures = []

    def in_thread(work):
        def run():
            try:
                work()
            except Exception as error:  # handed to the main thread
                failures.append(error)
            finally:
                connection.close()  # this thread's own connection

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def first():
        with transaction.atomic():
            audit(county.alice, Action.READ, "first")
            first_wrote.set()
            assert let_first_commit.wait(20)

    start = AuditEvent.objects.count()
    holder = in_thread(first)
    assert first_wrote.wait(20)
    waiter = in_thread(lambda: audit(county.bob, Action.READ, "second"))
    try:
        assert _until(_waiting_on_the_chain_lock), "the second writer did not wait"
        assert waiter.is_alive()
    finally:
        let_first_commit.set()
        holder.join(20)
        waiter.join(20)
    assert not failures, failures
    assert list(AuditEvent.objects.filter(seq__gt=start).order_by("seq").values_list("what")) == [
        ("first",),
        ("second",),
    ]

    def busy(user):
        for number in range(40):
            if number % 4:
                audit(user, Action.READ, f"busy {number}")
            else:
                chain.write_events(
                    [AuditEvent(action=Action.READ, what=f"list {number}") for _ in range(3)]
                )

    threads = [in_thread(lambda: busy(county.alice)), in_thread(lambda: busy(county.bob))]
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    total = start + 2 + 2 * (30 + 10 * 3)
    assert AuditEvent.objects.count() == total
    assert f"{total} rows checked from seq 1, head seq {total}" in verified()


# --- The copy outside the database ----------------------------------------------------------


def copied(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_committed_rows_are_copied_and_rolled_back_rows_are_not(county, tmp_path, settings):
    path = tmp_path / "audit.jsonl"
    settings.SAMPLAN_AUDIT_SINK = [str(path)]
    with transaction.atomic():
        kept = audit(county.alice, Action.PRINT, "plan", detail="sida 1")
        assert copied(path) == []
    with pytest.raises(RuntimeError), transaction.atomic():
        audit(county.alice, Action.READ, "undone")
        raise RuntimeError
    audit(county.bob, Action.READ, "after")

    lines = copied(path)
    assert [line["what"] for line in lines] == ["plan", "after"]
    assert lines[0] == {
        "id": kept.pk,
        **chain.row_fields({name: getattr(kept, name) for name in chain.FIELDS}),
        "chain_hash": kept.chain_hash,
    }
    assert lines[0]["detail"] == "sida 1"
    assert lines[1]["seq"] == kept.seq + 1  # the rolled-back row left no hole
    # The copy verifies on its own: each line's hash follows from the line before.
    assert lines[1]["chain_hash"] == chain.link(lines[0]["chain_hash"], lines[1], chain.audit_key())
    assert "matches its copy" in verified()
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.django_db
def test_committed_rows_are_sent_to_syslog(county, settings, django_capture_on_commit_callbacks):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    settings.SAMPLAN_AUDIT_SINK = [f"syslog://127.0.0.1:{receiver.getsockname()[1]}"]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event = audit(county.alice, Action.EXPORT, "plan")
        message = receiver.recv(65536).decode()
    finally:
        receiver.close()
    assert message.startswith("<")  # a syslog priority: facility authpriv, level info
    assert "samplan-audit: " in message
    line = json.loads(message.split("samplan-audit: ", 1)[1].rstrip("\x00"))
    assert (line["id"], line["what"], line["chain_hash"]) == (event.pk, "plan", event.chain_hash)


# --- Rows written before the chain ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_the_migration_chains_rows_written_before_the_chain_and_keeps_the_triggers(county):
    chained = AuditEvent.objects.count()
    AuditEvent.objects.bulk_create(
        [AuditEvent(action=Action.READ, what=f"old {number}") for number in range(5)]
    )
    assert "not in the chain" in broken()
    historical = (
        MigrationLoader(connection).project_state(("access", "0005_audit_for_security")).apps
    )
    with connection.schema_editor() as editor:
        MIGRATION.chain_existing(historical, editor)

    assert f"{chained + 5} rows checked from seq 1, head seq {chained + 5}" in verified()
    assert [row.what for row in AuditEvent.objects.filter(seq__gt=chained).order_by("seq")] == [
        f"old {number}" for number in range(5)
    ]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("UPDATE access_auditevent SET what = 'x'")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM access_auditevent")
    assert django_apps.get_model("access", "AuditEvent").objects.count() == chained + 5
