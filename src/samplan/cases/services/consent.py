"""Samtycke: given, declined, revoked in whole or for one organisation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from samplan.access.citizen import PERSON_ROLE, Capacity
from samplan.directory.models import Organisation
from samplan.errors import DomainError
from samplan.people.models import RelatedParty

from ..models import (
    Consent,
    ConsentScope,
    SipCase,
)
from ._core import (
    _acts_for_minor,
    _changing,
    _close,
    _not_in_past,
    _raise_all,
    _required,
)
from .closing import cancel_meetings_ahead


def _consent_problems(person, method, given_by, given_by_name, documentation):
    return [
        _required(method, "method", "hur svaret gavs", "how the answer was given"),
        _required(given_by_name, "given_by_name", "vem som svarade", "who answered"),
        _acts_for_minor(person, given_by, "given_by"),
        (
            _required(
                documentation,
                "documentation",
                "hur det muntliga svaret dokumenterades",
                "how the oral answer was documented",
            )
            if method == Consent.Method.ORAL
            else None
        ),
    ]


def give_consent(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    method: str,
    given_by: str,
    given_by_name: str,
    organisations: Sequence[Organisation],
    information_scope: str,
    valid_until: dt.date | None = None,
    exclusions: str = "",
    documentation: str = "",
) -> Consent:
    """Samtycke: which information, to which organisations, for how long (no end date: until
    the SIP is closed, and the case page says so); how and by whom."""
    with _changing(case, "give_consent", actor, expected_version, what="consent") as change:
        problems = _consent_problems(
            change.case.person, method, given_by, given_by_name, documentation
        )
        problems += [
            _required(
                list(organisations),
                "organisations",
                "vilka organisationer som får utbyta information",
                "which organisations may exchange information",
            ),
            _required(
                information_scope,
                "information_scope",
                "vilken information som omfattas",
                "which information is covered",
            ),
            _not_in_past(valid_until, "valid_until", "Giltighetstiden", "The end of validity"),
        ]
        _raise_all(problems)
        consent = Consent.objects.create(
            case=change.case,
            decision=Consent.Decision.GIVEN,
            method=method,
            given_by=given_by,
            given_by_name=given_by_name,
            information_scope=information_scope,
            exclusions=exclusions,
            documentation=documentation,
            valid_until=valid_until,
            recorded_by=actor,
        )
        ConsentScope.objects.bulk_create(
            ConsentScope(consent=consent, organisation=organisation)
            for organisation in dict.fromkeys(organisations)
        )
    return consent


def decline_consent(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    method: str,
    given_by: str,
    given_by_name: str,
    documentation: str = "",
    note: str = "",
) -> Consent:
    """The person declines a SIP: the case closes, everything recorded stays, care goes on.
    `note`: the reason they gave, if they gave one; the case page shows it."""
    with _changing(case, "decline_consent", actor, expected_version, what="consent") as change:
        _raise_all(
            _consent_problems(change.case.person, method, given_by, given_by_name, documentation)
        )
        consent = Consent.objects.create(
            case=change.case,
            decision=Consent.Decision.DECLINED,
            method=method,
            given_by=given_by,
            given_by_name=given_by_name,
            documentation=documentation,
            recorded_by=actor,
        )
        change.note = note
        _close(change, SipCase.ClosingReason.DECLINED, note)
    return consent


def revoke_consent(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    organisations: Sequence[Organisation] = (),
    note: str = "",
) -> Consent:
    """Återkallelse, at any time. With organisations: only they lose access, at once, and the
    case page shows their interventions as ended by revocation. Without: the whole consent ends,
    the SIP closes and a meeting not yet started is cancelled; nothing recorded is lost.

    Staff record a revocation the person told them of; in Min SIP the person (or a guardian, or
    a god man or förvaltare whose mandate covers it) revokes it themselves, `actor` being their
    Capacity: `revoked_by` names staff only, so then the note says who, in Min SIP."""
    if isinstance(actor, Capacity):
        note = _revoked_in_min_sip(actor, note)
    action = "revoke_consent_in_part" if organisations else "revoke_consent"
    with _changing(case, action, actor, expected_version, what="consent") as change:
        consent = (
            change.case.consents.select_for_update()
            .filter(decision=Consent.Decision.GIVEN, revoked_at__isnull=True)
            .order_by("-recorded_at")
            .first()
        )
        if consent is None:
            raise DomainError(
                "Det finns inget gällande samtycke att återkalla.",
                "There is no active consent to revoke.",
                "organisations",
                code="no_consent",
            )
        now = timezone.now()
        scopes = consent.scopes.filter(revoked_at__isnull=True)
        if organisations:
            chosen = scopes.filter(organisation__in=organisations)
            if not chosen.exists():
                raise DomainError(
                    "Samtycket omfattar inte den valda organisationen.",
                    "The consent does not cover the chosen organisation.",
                    "organisations",
                    code="not_in_scope",
                )
            problem = partial_revocation_problem(
                change.case,
                chosen=set(chosen.values_list("organisation_id", flat=True)),
                covered=set(scopes.values_list("organisation_id", flat=True)),
            )
            if problem is not None:
                raise problem
            names = list(chosen.values_list("organisation__name", flat=True))
            chosen.update(revoked_at=now)
            change.note = _revocation_note(names, note)
            if scopes.exists():
                return consent
        else:
            names = list(scopes.values_list("organisation__name", flat=True))
            change.note = _revocation_note(names, note)
        consent.revoked_at = now
        consent.revoked_by = None if isinstance(actor, Capacity) else actor
        consent.revocation_note = note
        consent.save()
        _close(change, SipCase.ClosingReason.CONSENT_REVOKED, note)
        cancel_meetings_ahead(change, "Samtycket återkallades.", "The consent was revoked.")
    return consent


# Who revoked, in the words of the record (Swedish, as the rest of the consent record).
_REVOKED_BY = {
    PERSON_ROLE: "personen",
    RelatedParty.Kind.GUARDIAN: "vårdnadshavare",
    RelatedParty.Kind.GOD_MAN: "god man",
    RelatedParty.Kind.FORVALTARE: "förvaltare",
}


def _revoked_in_min_sip(capacity: Capacity, note: str) -> str:
    who = _REVOKED_BY.get(capacity.role, "företrädare")
    if capacity.party is not None:
        who = f"{who} {capacity.party.name}"
    said = f"Återkallat i Min SIP av {who}."
    return f"{said} {note.strip()}" if note.strip() else said


def partial_revocation_problem(
    case: SipCase, *, chosen: set[int], covered: set[int]
) -> DomainError | None:
    """A revocation for some organisations may not leave out the coordinating unit's own: that
    unit keeps the original and drives the SIP, so it would go on receiving what the person no
    longer lets it have (SIP.md: after a revocation nothing more is shared). `chosen` and
    `covered`: organisation ids revoked now and still covered before it. The revoke page asks
    this before its confirmation; the service asks again under the lock."""
    coordinating = case.coordinating_unit.organisation
    if coordinating.pk not in chosen or covered <= chosen:
        return None
    return DomainError(
        f"Samtycket kan inte återkallas bara för {coordinating.name}: den samordnande enheten "
        f"({case.coordinating_unit.name}) hör dit och driver SIP:en. Återkalla samtycket för "
        f"alla organisationer (SIP:en avslutas), eller låt en enhet i en annan organisation ta "
        f"över samordningen först.",
        f"The consent cannot be revoked for {coordinating.name} alone: the coordinating unit "
        f"({case.coordinating_unit.name}) belongs to it and drives the SIP. Revoke the consent "
        f"for all organisations (the SIP closes), or let a unit of another organisation take "
        f"over the coordination first.",
        "organisations",
        code="coordinating_organisation",
    )


def _revocation_note(organisation_names: Sequence[str], note: str) -> str:
    """The timeline names the organisations whose consent ended (in any language the same)."""
    names = ", ".join(sorted(organisation_names))
    return f"{names} – {note}" if note else names
