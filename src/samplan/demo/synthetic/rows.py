"""Plain rows with keys handed out by the generator, written in batches: COPY on PostgreSQL,
executemany elsewhere (docs/performance.md says why)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from django.db import models

from samplan.cases.models import (
    Attendee,
    CaseEvent,
    CaseMessage,
    Consent,
    ConsentScope,
    Goal,
    Intervention,
    Invitation,
    Meeting,
    MessageAcknowledgement,
    MessageRead,
    Participant,
    PlanVersion,
    Preparation,
    SipCase,
)
from samplan.fhir.ids import resource_uuid
from samplan.people.models import Person, RelatedParty

# Rows go in this order, so that every row finds the rows it refers to.
# A guardian is known in the SIP it was registered in (SipCase.related_parties).
CaseRelatedParty = SipCase.related_parties.through
TABLES = (
    Person,
    RelatedParty,
    SipCase,
    CaseRelatedParty,
    Participant,
    CaseEvent,
    Consent,
    ConsentScope,
    Preparation,
    Meeting,
    Invitation,
    PlanVersion,
    Goal,
    Intervention,
    Attendee,
    CaseMessage,
    MessageRead,
    MessageAcknowledgement,
)
# rows that other rows refer to
KEYED = (Person, RelatedParty, SipCase, Consent, Meeting, PlanVersion, CaseMessage)
# Columns computed from the row's key, as the model's save() would set them.
FROM_KEY: dict[type[models.Model], dict[str, Callable[[int], object]]] = {
    PlanVersion: {"fhir_id": lambda key: resource_uuid("PlanVersion", key)},
}


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _Rows:
    """Rows of one model, buffered and written without model instances. Columns left out get
    the field's default, as the ORM would give them; keyed tables hand out their own keys."""

    def __init__(self, model: type[models.Model], now: dt.datetime, *, keyed: bool):
        self.model = model
        self.keyed = keyed
        fields = [f for f in model._meta.concrete_fields if keyed or not f.primary_key]
        self.names = [f.attname for f in fields]
        self.columns = [f.column for f in fields]
        self.defaults = {
            f.attname: (
                now
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                else f.get_default()
            )
            for f in fields
        }
        self.value_kinds = [
            "datetime"
            if isinstance(f, models.DateTimeField)
            else "date"
            if isinstance(f, models.DateField)
            else "uuid"
            if isinstance(f, models.UUIDField)
            else None
            for f in fields
        ]
        self.rows: list[dict] = []
        self.next_key = 0

    def start_keys(self) -> None:
        largest = self.model.objects.aggregate(largest=models.Max("pk"))["largest"]
        self.next_key = (largest or 0) + 1

    def add(self, **values) -> int | None:
        row = self.defaults.copy()
        row.update(values)
        if len(row) != len(self.names):
            unknown = sorted(set(values) - set(self.names))
            raise ValueError(f"{self.model.__name__} has no field {unknown}")
        if self.keyed:
            row["id"] = self.next_key
            self.next_key += 1
            for name, derive in FROM_KEY.get(self.model, {}).items():
                row[name] = derive(row["id"])
        self.rows.append(row)
        return row["id"] if self.keyed else None

    def write(self, connection) -> int:
        if not self.rows:
            return 0
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        columns = ", ".join(quote(column) for column in self.columns)
        rows = ([row[name] for name in self.names] for row in self.rows)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                convert = {
                    "datetime": _sql_datetime(connection),
                    "date": connection.ops.adapt_datefield_value,
                    "uuid": lambda value: value.hex,  # Django's UUIDField without a native type
                }
                converters = [convert.get(kind) for kind in self.value_kinds]
                placeholders = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
                    [
                        [
                            change(value) if change and value is not None else value
                            for change, value in zip(converters, row, strict=True)
                        ]
                        for row in rows
                    ],
                )
        written = len(self.rows)
        self.rows = []
        return written


def _sql_datetime(connection) -> Callable[[dt.datetime], str]:
    """Django's own adapter, with a shortcut for UTC, which is all the generator makes."""
    adapt = connection.ops.adapt_datetimefield_value

    def convert(value: dt.datetime) -> str:
        if value.tzinfo is dt.UTC and connection.timezone_name == "UTC":
            return str(value.replace(tzinfo=None))
        return adapt(value)

    return convert
