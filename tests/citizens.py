"""Signing a test client in to Min SIP without the identity provider (as `force_login` does for
staff): tests of Min SIP's pages start here; the sign-in itself is tested against a real OIDC
provider in tests/test_mypages_signin.py."""

from __future__ import annotations

from samplan.access.citizen import SESSION_KEY, Citizen
from samplan.people.identity import make_identity_number  # noqa: F401  (re-exported for tests)


def sign_in_citizen(client, identity_number: str, name: str = "Test Testsson") -> Citizen:
    citizen = Citizen(identity_number=identity_number, name=name, method="test")
    session = client.session
    session[SESSION_KEY] = citizen.to_session()
    session.save()
    return citizen


def sign_in_as_person(client, case) -> Citizen:
    """The person of `case` themselves."""
    return sign_in_citizen(client, case.person.identity_number, case.person.full_name)
