"""Regions bill on event times (payment liability after discharge): they are exact and in UTC."""

import datetime as dt

import pytest
from django.db import connection

from samplan.cases import services
from samplan.cases.models import SipCase, State
from tests.factories import PersonFactory, case_in_state

pytestmark = pytest.mark.django_db


def test_timeline_times_are_stored_in_utc_to_the_microsecond(county):
    case = case_in_state(county, State.CONSENTED)
    event = case.events.order_by("-at").first()
    in_utc = event.at.astimezone(dt.UTC)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'cases_caseevent' AND column_name = 'at'"
            )
            assert cursor.fetchone()[0] == "timestamp with time zone"
            cursor.execute(
                "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') "
                "FROM cases_caseevent WHERE id = %s",
                [event.pk],
            )
        else:
            cursor.execute("SELECT at FROM cases_caseevent WHERE id = %s", [event.pk])
        stored = str(cursor.fetchone()[0])
    assert stored == in_utc.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_the_discharge_deadline_counts_from_the_notice_in_exact_days(county):
    notice = dt.datetime(2026, 11, 20, 13, 37, 12, 345678, tzinfo=dt.UTC)
    case = services.initiate_case(
        actor=county.alice,
        person=PersonFactory(),
        initiating_unit=county.vardcentral,
        kind=SipCase.Kind.DISCHARGE,
        discharge_notice_at=notice,
    )
    case.refresh_from_db()
    assert county.region.discharge_deadline_days == 3
    assert case.call_deadline == notice + dt.timedelta(days=3)
