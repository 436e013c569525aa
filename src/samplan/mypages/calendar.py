"""A meeting as a calendar file (iCalendar, RFC 5545), to save in a calendar.

The file leaves Samplan, so it carries only what a calendar needs: when, how long, and (in the
person's own file) where, as the coordinator wrote the place. The title is "SIP-möte" and nothing
else in it names the person or says anything about their health or support. The file for the
parties (`for_person=False`) leaves the place out by default, since it may be a home address or
name a clinic; a video link is kept, as the way in. One meeting is one
event for good: its UID is fixed per meeting and a moved or cancelled meeting comes with the
meeting's higher SEQUENCE, so a calendar that already holds it updates it (and a cancelled one
says STATUS:CANCELLED).

The e-mailed invitation (samplan.mail.calls) is the same file as an iTIP message (RFC 5546):
METHOD:REQUEST or CANCEL, an ORGANIZER and the one ATTENDEE it is sent to. It has the place (as
issue 9 asks: the invitees must find the room; the meeting form tells the coordinator so) unless
the person has protected personal data (`show_place`): then "the coordinator tells you where"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress

from samplan.cases.models import Meeting

TIMEZONE = ZoneInfo("Europe/Stockholm")
SUMMARY = "SIP-möte"


def meeting_uid(meeting: Meeting) -> str:
    return f"sip-meeting-{meeting.pk}@samplan"


@dataclass(frozen=True)
class Attendee:
    """The one party an e-mailed invitation is sent to. `name` only for a unit: a relative's
    name could name the person."""

    email: str
    name: str = ""


def meeting_ics(
    meeting: Meeting,
    *,
    for_person: bool,
    method: str = "PUBLISH",
    organizer: str = "",
    attendee: Attendee | None = None,
    show_place: bool | None = None,
) -> bytes:
    """The calendar file of one meeting. `for_person`: written for the person or whoever acts
    for them (the description says who to ask); otherwise for staff (it names the SIP's
    reference, never the person, and no place: only a video link). Texts follow the active
    language. `method` REQUEST or CANCEL with `organizer` (an address) and `attendee` make it
    an invitation; `show_place` overrides whether the place is in it (default: `for_person`)."""
    starts = meeting.starts_at.astimezone(TIMEZONE)
    ends = meeting.ends_at.astimezone(TIMEZONE)
    cancelled = meeting.is_cancelled
    show_place = for_person if show_place is None else show_place

    event = Event()
    event.add("uid", meeting_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", timezone.now().astimezone(dt.UTC))
    event.add("dtstart", starts)
    event.add("dtend", ends)
    event.add("summary", SUMMARY)
    location = (meeting.place if show_place else "") or meeting.video_link
    if location:
        event.add("location", location)
    if meeting.video_link:
        event.add("url", meeting.video_link)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    description = _description(meeting, for_person=for_person, cancelled=cancelled)
    if meeting.place and not show_place and method != "PUBLISH":
        description += "\n" + _("The coordinator tells you where the meeting is.")
    event.add("description", description)
    if organizer:
        event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    if attendee is not None:
        address = vCalAddress(f"mailto:{attendee.email}")
        address.params["ROLE"] = "REQ-PARTICIPANT"
        address.params["PARTSTAT"] = "NEEDS-ACTION"
        address.params["RSVP"] = "TRUE"
        if attendee.name:
            address.params["CN"] = attendee.name
        event.add("attendee", address, encode=0)

    calendar = Calendar()
    calendar.add("prodid", "-//Samplan//Min SIP//SV")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(event)
    # Only the rules around the meeting: a calendar needs no table of every year since 1970.
    calendar.add_missing_timezones(
        first_date=starts.date() - dt.timedelta(days=366),
        last_date=starts.date() + dt.timedelta(days=366),
    )
    return calendar.to_ical()


def _description(meeting: Meeting, *, for_person: bool, cancelled: bool) -> str:
    lines = [_("The meeting is cancelled.")] if cancelled else []
    follow_up = meeting.kind == Meeting.Kind.FOLLOW_UP
    if for_person:
        lines.append(
            _("Follow-up of your coordinated individual plan (SIP).")
            if follow_up
            else _("Meeting about your coordinated individual plan (SIP).")
        )
    else:
        lines.append(
            _("Follow-up meeting of %(reference)s.") % {"reference": meeting.case.reference}
            if follow_up
            else _("SIP meeting of %(reference)s.") % {"reference": meeting.case.reference}
        )
    if for_person and meeting.place and meeting.video_link:
        lines.append(_("Video link: %(link)s") % {"link": meeting.video_link})
    if for_person:
        lines.append(_("Questions? Contact your SIP coordinator. You find everything in My SIP."))
    return "\n".join(lines)
