"""Fixtures for the browser tests: a Swedish-speaking Chromium, and a live server whose
database can be emptied after each test although the audit log is append-only."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Staff browsers in Sweden ask for Swedish; the site's default is Swedish as well.
    return {**browser_context_args, "locale": "sv-SE", "timezone_id": "Europe/Stockholm"}


@pytest.fixture(autouse=True)
def _audit_log_flushable(audit_log_flushable):
    """Live-server tests commit for real; see tests/conftest.py."""


@pytest.fixture
def new_context(browser, browser_context_args):
    """Another browser context (its own cookies and screen: another member of staff, or a
    phone), made with the same language and time zone as `page`, closed after the test."""
    contexts = []

    def make(**overrides):
        context = browser.new_context(**{**browser_context_args, **overrides})
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
