"""Chain the audit rows written before the hash chain, and give PostgreSQL the chain head function.

The rows get seq and chain_hash in id order (the order they were written), under the key the app
will use (settings.SAMPLAN_AUDIT_KEY: set it before migrating). The append-only triggers of 0004
refuse UPDATE, so they are lifted for the backfill and put back before the migration ends, in
the same transaction on PostgreSQL.
"""

import importlib

from django.db import migrations

from samplan.access import chain

_TRIGGERS = importlib.import_module("samplan.access.migrations.0004_append_only_triggers")

# One round trip for a writer: take the chain lock (held until the transaction ends), then read
# the head. A VOLATILE function takes a fresh snapshot per statement, so the head it reads is the
# one committed by the writer that held the lock before.
CHAIN_HEAD = f"""
CREATE OR REPLACE FUNCTION access_auditevent_chain_head(OUT head_seq bigint, OUT head_hash text)
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({chain.CHAIN_LOCK});
    SELECT seq, chain_hash INTO head_seq, head_hash FROM access_auditevent
     WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
END; $$ LANGUAGE plpgsql VOLATILE
"""
BATCH = 2000


def chain_existing(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(CHAIN_HEAD)
    AuditEvent = apps.get_model("access", "AuditEvent")
    unchained = AuditEvent.objects.filter(seq__isnull=True)
    if not unchained.exists():
        return
    if connection.vendor == "postgresql":
        schema_editor.execute(f"SELECT pg_advisory_xact_lock({chain.CHAIN_LOCK})")
    head = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").first()
    seq, previous = (head.seq, head.chain_hash) if head else (0, chain.GENESIS)
    key = chain.audit_key()
    _TRIGGERS.drop(apps, schema_editor)
    after_id = 0
    while rows := list(unchained.filter(id__gt=after_id).order_by("id")[:BATCH]):
        for row in rows:
            seq += 1
            row.seq = seq
            row.chain_hash = previous = chain.link(
                previous, {name: getattr(row, name, None) for name in chain.FIELDS}, key
            )
        AuditEvent.objects.bulk_update(rows, ["seq", "chain_hash"])
        after_id = rows[-1].id
    _TRIGGERS.create(apps, schema_editor)


def drop_chain_head(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS access_auditevent_chain_head()")


class Migration(migrations.Migration):
    dependencies = [("access", "0005_audit_for_security")]
    operations = [migrations.RunPython(chain_existing, drop_chain_head)]
