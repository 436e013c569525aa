"""Schemathesis calls every operation of the committed schema (docs/openapi.yaml) against the
real app on a live server, with generated values, valid and invalid, and checks every answer:
no server error, only documented status codes, bodies and content types as documented, a 401
without the token. The data: a county with a SIP at each interesting step, and a system of a
unit that takes part, so that generated ids hit real SIPs, plans, meetings and messages too."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.modes import GenerationMode

from samplan.api.services import create_client
from samplan.cases import services
from samplan.cases.models import State
from samplan.people.identity import make_identity_number
from tests.factories import County, PersonFactory, case_in_state

SCHEMA = schemathesis.openapi.from_path(
    Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
)
# Identity numbers of the county's people: the schema can say the form of a personnummer, not its
# checksum, so a schema-valid request gets a real number (and hits a real person's SIPs).
KNOWN_NUMBERS = [make_identity_number(dt.date(1950 + i, 3, 1), 100 + i) for i in range(3)]


@SCHEMA.hook
def map_case(context, case):
    query = case.query or {}
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return case
    if "identity_number" in query:
        query["identity_number"] = KNOWN_NUMBERS[len(query["identity_number"]) % 3]
    if "patient.identifier" in query:
        system = query["patient.identifier"].split("|")[0]
        query["patient.identifier"] = f"{system}|{KNOWN_NUMBERS[len(system) % 3]}"
    return case


@pytest.fixture
def system_token(live_server, audit_log_flushable):
    county = County()
    states = (State.MEETING_CALLED, State.PLAN_ESTABLISHED, State.FOLLOW_UP)
    for number, state in zip(KNOWN_NUMBERS, states, strict=True):
        case = case_in_state(county, state, person=PersonFactory(identity_number=number))
        services.post_message(
            case, actor=county.alice, body="Ring dottern.", asks_acknowledgement=True
        )
    return create_client(name="Systemet", unit=county.hemtjanst, created_by="test")[1]


@SCHEMA.parametrize()
@settings(
    max_examples=10,
    derandomize=True,  # the same examples on every run: CI fails on the code, not on luck
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case, live_server, system_token):
    case.call_and_validate(
        base_url=live_server.url, headers={"Authorization": f"Bearer {system_token}"}
    )
