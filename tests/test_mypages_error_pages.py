"""A refusal under Min SIP is shown in Min SIP's frame, with the person's way back; staff pages
keep the staff's."""

from __future__ import annotations

import pytest
from django.conf import settings

from samplan.cases.models import State
from tests.citizens import sign_in_as_person
from tests.factories import County, case_in_state

pytestmark = pytest.mark.django_db


def test_a_citizens_404_is_in_min_sip_with_a_way_back_to_their_sips(client):
    county = County()
    mine = case_in_state(county, State.PREPARATION)
    other = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, mine)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(f"/mina-sidor/sip/{other.pk}/plan/")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'href="/mina-sidor/"' in page and "Go to My SIPs" in page
    assert "/konto/logga-in/" not in page  # not the staff's sign-in
    assert "only to staff" not in page


def test_a_staff_404_stays_the_staffs(client):
    county = County()
    client.force_login(county.charlie)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/sip/999999/")
    assert response.status_code == 404
    assert "Go to your SIPs" in response.content.decode()
    assert "Go to My SIPs" not in response.content.decode()
