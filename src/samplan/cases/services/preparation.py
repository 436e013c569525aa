"""Förberedelse: needs to discuss, invitees the person chooses, meeting preferences."""

from __future__ import annotations

from collections.abc import Sequence

from samplan.directory.models import Unit
from samplan.errors import DomainError, StaleEdit
from samplan.people.models import RelatedParty

from ..models import (
    Participant,
    Preparation,
    SipCase,
)
from ._core import (
    _changing,
)

PREPARATION_FIELDS = (
    "needs_to_discuss",
    "not_to_invite",
    "preferred_place",
    "preferred_time_of_day",
    "max_length_minutes",
    "disturbances",
    "room_needs",
    "picture_support",
    "interpreter_language",
    "sign_language",
    "assistant",
    "other_support",
)
# What the person sets themselves in Min SIP (SIP.md's meeting preferences and what the meeting
# should discuss). Who is invited, and who not, they settle with their contact.
PREFERENCE_FIELDS = tuple(name for name in PREPARATION_FIELDS if name != "not_to_invite")


def start_preparation(case: SipCase, *, actor, expected_version: int | None) -> Preparation:
    with _changing(
        case, "start_preparation", actor, expected_version, what="preparation"
    ) as change:
        person = change.case.person
        preparation, _ = Preparation.objects.get_or_create(
            case=change.case,
            defaults={
                "interpreter_language": person.interpreter_language,
                "sign_language": person.sign_language,
            },
        )
    return preparation


def update_preparation(
    case: SipCase,
    *,
    actor,
    expected_version: int,
    values: dict,
    invited_related_parties: Sequence[RelatedParty] | None = None,
) -> Preparation:
    """The person's needs to discuss, invitees and meeting preferences. `expected_version` is
    the preparation's lock_version the form was based on."""
    _check_fields(values, PREPARATION_FIELDS)
    with _changing(case, "update_preparation", actor, None, what="preparation") as change:
        preparation = _write_preparation(change.case, expected_version, values)
        if invited_related_parties is not None:
            _check_own_parties(change.case, invited_related_parties)
            preparation.invited_related_parties.set(invited_related_parties)
    return preparation


def update_preferences_by_person(
    case: SipCase, *, actor, expected_version: int, data: dict
) -> Preparation:
    """The person (or a guardian, or a young person with their own view) sets their own meeting
    preferences in Min SIP, until the meeting is called (the table's `update_preferences`).
    `actor` is their Capacity; `expected_version` the preparation's lock_version the form was
    based on, so a coordinator's edit meanwhile is refused as stale, not overwritten."""
    _check_fields(data, PREFERENCE_FIELDS)
    with _changing(case, "update_preferences", actor, None, what="preparation") as change:
        preparation = _write_preparation(change.case, expected_version, data)
    return preparation


def _check_fields(values: dict, allowed: Sequence[str]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValueError(f"not preparation fields: {sorted(unknown)}")


def _write_preparation(case: SipCase, expected_version: int, values: dict) -> Preparation:
    """The locked preparation (created on first write: the table lets it be written from consent
    on, before start_preparation), checked against the version the form showed, with `values`
    written. Called inside `_changing`."""
    person = case.person
    preparation, _ = Preparation.objects.select_for_update().get_or_create(
        case=case,
        defaults={
            "interpreter_language": person.interpreter_language,
            "sign_language": person.sign_language,
        },
    )
    if preparation.lock_version != expected_version:
        raise StaleEdit(current=preparation)
    length = values.get("max_length_minutes")
    if length is not None and not 10 <= int(length) <= 480:
        raise DomainError(
            "Längsta möteslängd ska vara mellan 10 och 480 minuter.",
            "The longest meeting length must be between 10 and 480 minutes.",
            "max_length_minutes",
            code="range",
        )
    for name, value in values.items():
        setattr(preparation, name, value)
    preparation.lock_version += 1
    preparation.save()
    return preparation


def _check_own_parties(case: SipCase, parties: Sequence[RelatedParty]) -> None:
    """Only the related parties known in this SIP (SipCase.related_parties) can be invited: a
    party of the same person registered in another SIP stays there."""
    if not parties:
        return
    known = set(case.related_parties.values_list("pk", flat=True))
    if any(party.pk not in known for party in parties):
        raise DomainError(
            "Bara närstående och företrädare som finns i denna SIP kan bjudas in. Lägg till "
            "dem från SIP:ens sida först.",
            "Only relatives and representatives known in this SIP can be invited. Add them "
            "from the SIP's page first.",
            "related_parties",
            code="foreign_party",
        )


def add_participant(case: SipCase, *, actor, unit: Unit, chosen_by_person: bool = True):
    """A unit joins the SIP, usually because the person chose to invite it. Its staff see the
    case once the consent names its organisation. The timeline names the unit."""
    with _changing(case, "add_participant", actor, None, what="participant") as change:
        participant, created = Participant.objects.get_or_create(
            case=change.case, unit=unit, defaults={"chosen_by_person": chosen_by_person}
        )
        if not created and participant.removed_at is None:
            raise DomainError(
                f"{unit.name} deltar redan i SIP:en.",
                f"{unit.name} already takes part in the SIP.",
                "unit",
                code="already_taking_part",
            )
        if not created:
            participant.removed_at = None
            participant.chosen_by_person = chosen_by_person
            participant.save(update_fields=["removed_at", "chosen_by_person"])
        change.note = unit.name
    return participant
