"""About SIP: public pages for adults and for children and young people, in plain words, that say
what a SIP is, that it is voluntary, who comes, what the plan says, that the person decides and
can end it, and how to ask for one and sign in. No personal data, so nothing is logged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.people.identity import make_identity_number
from tests.citizens import sign_in_citizen

pytestmark = pytest.mark.django_db

ADULTS = [
    "SIP means samordnad individuell plan",
    "You decide if you want a SIP. If you say no, you still get the care and support",
    "You decide who is invited.",
    "Who has the overall responsibility for the plan.",
    "An insats is help or support you get",
    "The plan is not changed without your approval.",
    "When you no longer need your SIP, you can end it.",
    "You sign in with BankID or Freja eID.",
]
CHILDREN = [
    "SIP is a plan.",
    "No. A SIP is voluntary.",
    "Your own goals go into the plan, in your own words.",
    "If you are under 18, your guardian approves the plan.",
    "A SIP can end when you do not need it any more.",
    "Are you 15, 16 or 17? Then you can sign in and see your own plan",
]


@pytest.mark.parametrize(
    ("name", "sentences"),
    [("about", ADULTS), ("about_children", CHILDREN)],
    ids=["adults", "children"],
)
def test_the_information_is_public_and_says_what_matters(client, name, sentences):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse(f"mypages:{name}"))
    assert response.status_code == 200
    page = response.content.decode()
    for sentence in sentences:
        assert sentence in page, sentence
    assert f'href="{reverse("mypages:ask")}"' in page
    assert f'href="{reverse("mypages:sign_in")}">Sign in to My SIP</a>' in page
    other = "about_children" if name == "about" else "about"
    assert f'href="{reverse(f"mypages:{other}")}"' in page
    assert not AuditEvent.objects.exists()


def test_the_pages_read_in_swedish_by_default(client):
    response = client.get(reverse("mypages:about"))
    assert response.status_code == 200
    assert '<html lang="sv"' in response.content.decode()


def test_a_signed_in_citizen_is_not_asked_to_sign_in_again(client):
    sign_in_citizen(client, make_identity_number(dt.date(1980, 1, 1), 71))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for name in ("about", "about_children"):
        page = client.get(reverse(f"mypages:{name}")).content.decode()
        assert "Sign in to My SIP" not in page
        assert 'aria-current="page"' in page
