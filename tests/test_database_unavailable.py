"""A database out of reach for a moment (a restart, a dropped connection) is a 503 asking to try
again, with Retry-After, never a traceback: a page for people, JSON under the API. A fault in the
code that happens to be an OperationalError stays a 500. The real restart under load is in
tests/test_pg_faults.py; here the failure is raised where the first query of a request runs."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse

from samplan.error_pages import database_unavailable
from tests.test_api import system_for

pytestmark = pytest.mark.django_db


def django_error(cause: Exception, kind=OperationalError) -> Exception:
    """What Django raises for a driver's error: its own class, the driver's as the cause."""
    try:
        raise cause
    except Exception as driver_error:
        try:
            raise kind(str(driver_error)) from driver_error
        except kind as error:
            return error


CONNECTION_LOST = psycopg.OperationalError("server closed the connection unexpectedly")
ADMIN_SHUTDOWN = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
DISK_FULL = psycopg.errors.DiskFull("could not extend file")


@pytest.fixture
def database_gone(monkeypatch):
    """The first query of every request (the read-only mode's) finds the database gone."""

    def fail():
        raise django_error(CONNECTION_LOST)

    monkeypatch.setattr("samplan.maintenance.middleware.current_state", fail)


def browser(language: str) -> Client:
    return Client(raise_request_exception=False, headers={"Accept-Language": language})


@pytest.mark.parametrize(
    ("error", "try_again"),
    [
        (django_error(CONNECTION_LOST), True),
        (django_error(ADMIN_SHUTDOWN), True),
        (django_error(psycopg.errors.DeadlockDetected("deadlock detected")), True),
        (django_error(psycopg.InterfaceError("the connection is closed"), InterfaceError), True),
        (django_error(sqlite3.OperationalError("database is locked")), True),
        (django_error(DISK_FULL), False),
        (django_error(sqlite3.OperationalError("no such table: cases_sipcase")), False),
        (ValueError("not the database"), False),
    ],
)
def test_only_a_database_out_of_reach_counts_as_unavailable(error, try_again):
    assert database_unavailable(error) is try_again


def test_a_page_while_the_database_is_gone_is_a_503_asking_to_try_again(database_gone):
    response = browser("en").post("/sip/1/meddelanden/", {"body": "Hej"})

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response["Content-Language"] == "en"
    page = response.content.decode()
    assert "Try again in a moment" in page
    assert "Samplan could not reach its database just now" in page
    assert "it may not have been saved" in page
    assert 'href="/sip/1/meddelanden/"' in page
    assert "Traceback" not in page and "OperationalError" not in page
    assert "no-store" in response["Cache-Control"]


def test_the_503_page_follows_the_language_asked_for(database_gone):
    response = browser("sv").get("/")

    assert response.status_code == 503
    assert response["Content-Language"] == "sv"
    assert '<html lang="sv"' in response.content.decode()


def test_the_api_answers_json_503_while_the_database_is_gone(database_gone):
    response = browser("en").get(reverse("api:sips"), headers={"Authorization": "Bearer x"})

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert body["detail"].startswith("Samplan could not reach its database just now.")
    assert body["errors"][0]["sv"].startswith("Samplan kunde inte nå sin databas just nu.")


def test_an_api_view_losing_its_database_answers_json_503(county, monkeypatch):
    _, http = system_for(county.hemtjanst)
    http.raise_request_exception = False

    def lost(*args, **kwargs):
        raise django_error(ADMIN_SHUTDOWN)

    monkeypatch.setattr("samplan.api.views.cases_visible_to", lost)
    response = http.get(reverse("api:sips"))

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["code"] == "database_unavailable"


def test_a_fault_in_the_code_is_still_a_500_not_a_try_again(monkeypatch):
    def broken():
        raise django_error(DISK_FULL)

    monkeypatch.setattr("samplan.maintenance.middleware.current_state", broken)
    response = browser("en").get("/")

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert b"Try again" not in response.content
