"""Kallelse by e-mail: a meeting called, moved or cancelled reaches every invited party with an
address as a calendar invitation (.ics, RFC 5546) and a link where to answer.

`meeting_changed(meeting)` is called by the meeting services inside their transaction; it queues
one message per invitation through the outbox, keyed by meeting, calendar sequence and
invitation, so the same news is never sent twice and a retried change sends nothing new.

What leaves Samplan: that there is a SIP meeting (the SIP number for a unit only), when, where
(never for a person with protected personal data: then "the coordinator tells you where") and
where to answer. Never the person's name or anything about their health or support. Each text
is in Swedish with English below: a party's language is not known (a unit's never, a relative's
rarely), and both fit in a short message.
"""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from samplan.cases.models import Invitation, Meeting, revoked_organisation_ids
from samplan.mail.outbox import queue_mail
from samplan.mypages.calendar import TIMEZONE, Attendee, meeting_ics

LANGUAGES = ("sv", "en")


def meeting_changed(meeting: Meeting) -> int:
    """Queue the call, the update (moved) or the cancellation of `meeting` for each invited party
    with an e-mail address; the number newly queued."""
    case = meeting.case
    person = case.person
    coordinating = case.coordinating_unit
    organizer = (coordinating.email if coordinating else "") or no_reply_address()
    method = "CANCEL" if meeting.is_cancelled else "REQUEST"
    show_place = not person.is_protected
    # A unit whose organisation the consent no longer covers hears of no new time or place;
    # it is still told that the meeting it was called to is cancelled.
    revoked = (
        set()
        if method == "CANCEL"
        else revoked_organisation_ids(
            list(case.consents.prefetch_related("scopes").order_by("-recorded_at"))
        )
    )
    queued = 0
    invitations = meeting.invitations.select_related("unit", "related_party").order_by("pk")
    for invitation in invitations:
        if invitation.unit_id and invitation.unit.organisation_id in revoked:
            continue
        recipient = _recipient(invitation, person)
        if recipient is None:
            continue
        address, attendee_name, for_unit = recipient
        link = _answer_link(meeting, invitation, for_unit)
        with translation.override("sv"):
            ics = meeting_ics(
                meeting,
                for_person=not for_unit,
                method=method,
                organizer=organizer,
                attendee=Attendee(address, attendee_name),
                show_place=show_place,
            )
        subject = _both(_subject, " / ", meeting, for_unit)
        body = _both(_body, "\n\n---\n\n", meeting, for_unit, show_place, link)
        queued += queue_mail(
            key=f"meeting:{meeting.pk}:seq:{meeting.sequence}:inv:{invitation.pk}",
            to=address,
            subject=subject,
            body=body,
            ics=ics,
            ics_method=method,
        )
    return queued


def no_reply_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def _recipient(invitation: Invitation, person) -> tuple[str, str, bool] | None:
    """(address, name for the calendar, is a unit) or None without an address. Only a unit is
    named: a relative's name could name the person."""
    if invitation.unit_id:
        return (
            (invitation.unit.email, invitation.unit.name, True) if invitation.unit.email else None
        )
    if invitation.related_party_id:
        email = invitation.related_party.email
        return (email, "", False) if email else None
    return (person.email, "", False) if person.email else None


def _answer_link(meeting: Meeting, invitation: Invitation, for_unit: bool) -> str:
    if for_unit:
        path = reverse(
            "workspace:meeting_detail",
            kwargs={"case_id": meeting.case_id, "meeting_id": meeting.pk},
        )
    else:
        path = reverse("mypages:meeting", kwargs={"case_id": meeting.case_id})
    return f"{settings.SAMPLAN_BASE_URL}{path}"


def _both(text, separator: str, *args) -> str:
    """`text(*args)` in Swedish, then in English (once, if the two read the same)."""
    versions = []
    for language in LANGUAGES:
        with translation.override(language):
            versions.append(text(*args))
    return versions[0] if versions[0] == versions[1] else separator.join(versions)


def _subject(meeting: Meeting, for_unit: bool) -> str:
    follow_up = meeting.kind == Meeting.Kind.FOLLOW_UP
    if meeting.is_cancelled:
        text = _("Cancelled: follow-up meeting") if follow_up else _("Cancelled: SIP meeting")
    elif meeting.sequence:
        text = _("New time: follow-up meeting") if follow_up else _("New time: SIP meeting")
    else:
        text = _("Call to a follow-up meeting") if follow_up else _("Call to a SIP meeting")
    return f"{text} {meeting.case.reference}" if for_unit else text


def _when(meeting: Meeting) -> str:
    starts = timezone.localtime(meeting.starts_at, TIMEZONE)
    ends = timezone.localtime(meeting.ends_at, TIMEZONE)
    return _("%(day)s, %(start)s–%(end)s (Swedish time)") % {
        "day": date_format(starts, "l j F Y"),
        "start": starts.strftime("%H:%M"),
        "end": ends.strftime("%H:%M"),
    }


def _body(meeting: Meeting, for_unit: bool, show_place: bool, link: str) -> str:
    follow_up = meeting.kind == Meeting.Kind.FOLLOW_UP
    reference = meeting.case.reference
    if meeting.is_cancelled:
        if for_unit:
            opening = _("The meeting of %(reference)s is cancelled. You need not come.") % {
                "reference": reference
            }
        else:
            opening = _("The meeting about a coordinated individual plan (SIP) is cancelled.")
    elif for_unit:
        opening = (
            _("Your unit is called to a follow-up meeting of %(reference)s.")
            if follow_up
            else _("Your unit is called to a SIP meeting of %(reference)s.")
        ) % {"reference": reference}
        opening += " " + _("A called unit is obliged to attend.")
    else:
        opening = (
            _("You are invited to a follow-up meeting of a coordinated individual plan (SIP).")
            if follow_up
            else _("You are invited to a meeting about a coordinated individual plan (SIP).")
        )
    lines = [opening]
    if meeting.sequence and not meeting.is_cancelled:
        lines.append(_("The meeting has been moved. Please answer again for the new time."))
    lines += ["", _("When: %(when)s") % {"when": _when(meeting)}]
    if meeting.place:
        place = meeting.place if show_place else _("the coordinator tells you where.")
        lines.append(_("Where: %(place)s") % {"place": place})
    if meeting.video_link:
        lines.append(_("Video link: %(link)s") % {"link": meeting.video_link})
    lines.append("")
    if meeting.is_cancelled:
        lines.append(_("Read more: %(link)s") % {"link": link})
    else:
        lines.append(_("Answer here: %(link)s") % {"link": link})
        lines.append(_("The invitation is attached as a calendar file."))
    lines.append(_("This message cannot be answered by e-mail."))
    return "\n".join(lines)
