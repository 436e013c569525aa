"""A meeting as a calendar file (iCalendar, RFC 5545), to save in a calendar.

The file leaves Samplan, so it carries only what a calendar needs: when, how long, and (in the
person's own file) where, as the coordinator wrote the place. The title is "SIP-möte" and nothing
else in it names the person or says anything about their health or support. The file for the
parties (`for_person=False`, which issue 9 sends by e-mail) leaves the place out, since it may
be a home address or name a clinic; a video link is kept, as the way in. One meeting is one
event for good: its UID is fixed per meeting and a moved or cancelled meeting comes with the
meeting's higher SEQUENCE, so a calendar that already holds it updates it (and a cancelled one
says STATUS:CANCELLED)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from samplan.cases.models import Meeting

TIMEZONE = ZoneInfo("Europe/Stockholm")
SUMMARY = "SIP-möte"


def meeting_uid(meeting: Meeting) -> str:
    return f"sip-meeting-{meeting.pk}@samplan"


def meeting_ics(meeting: Meeting, *, for_person: bool) -> bytes:
    """The calendar file of one meeting. `for_person`: written for the person or whoever acts
    for them (the description says who to ask); otherwise for staff (it names the SIP's
    reference, never the person, and no place: only a video link). Texts follow the active
    language."""
    starts = meeting.starts_at.astimezone(TIMEZONE)
    ends = meeting.ends_at.astimezone(TIMEZONE)
    cancelled = meeting.is_cancelled

    event = Event()
    event.add("uid", meeting_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", timezone.now().astimezone(dt.UTC))
    event.add("dtstart", starts)
    event.add("dtend", ends)
    event.add("summary", SUMMARY)
    location = (meeting.place if for_person else "") or meeting.video_link
    if location:
        event.add("location", location)
    if meeting.video_link:
        event.add("url", meeting.video_link)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("description", _description(meeting, for_person=for_person, cancelled=cancelled))

    calendar = Calendar()
    calendar.add("prodid", "-//Samplan//Min SIP//SV")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
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
