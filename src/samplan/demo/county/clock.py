"""The data file's relative times ("3 hours ago", "12 days ago 11:00", "in 4 days 10:00",
"that day + 8 weeks"), turned into moments and dates counted from when the demo is loaded."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

_SPAN = r"(\d+) (day|days|week|weeks)"
_DATE = re.compile(
    rf"(?:(?P<word>today|yesterday|tomorrow|that day)|{_SPAN} ago|in {_SPAN})"
    rf"(?: \+ {_SPAN})?"
)
_WORDS = {"yesterday": -1, "today": 0, "tomorrow": 1}


def _days(count: str | None, unit: str | None) -> int:
    if count is None:
        return 0
    return int(count) * (7 if unit.startswith("week") else 1)


class Clock:
    """One `now` for the whole load, so that every "2 days ago" means the same day."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)

    def date(self, text: str, that_day: dt.date | None = None) -> dt.date:
        """A date: "today", "tomorrow", "14 days ago", "in 6 weeks", "that day + 8 weeks"."""
        found = _DATE.fullmatch(text.strip())
        if not found:
            raise ValueError(f"not a date: {text!r}")
        word, ago, ago_unit, ahead, ahead_unit, plus, plus_unit = found.groups()
        if word == "that day":
            if that_day is None:
                raise ValueError(f"{text!r}: no step day to count from")
            day = that_day
        elif word:
            day = self.today + dt.timedelta(days=_WORDS[word])
        else:
            offset = _days(ahead, ahead_unit) - _days(ago, ago_unit)
            day = self.today + dt.timedelta(days=offset)
        return day + dt.timedelta(days=_days(plus, plus_unit))

    def moment(self, text: str) -> dt.datetime | None:
        """A moment: "now" (None: the time the service records), "3 hours ago", or a date other
        than today with a time of day ("yesterday 09:30", "in 4 days 10:00"). Today's clock
        times are refused: whether they lie ahead depends on when the demo is loaded."""
        text = text.strip()
        if text == "now":
            return None
        hours = re.fullmatch(r"(\d+) hours? ago", text)
        if hours:
            return (self.now - dt.timedelta(hours=int(hours[1]))).replace(second=0, microsecond=0)
        timed = re.fullmatch(r"(.+) (\d{1,2}):(\d\d)", text)
        if not timed:
            raise ValueError(f"not a moment: {text!r}")
        day = self.date(timed[1])
        if day == self.today:
            raise ValueError(f"{text!r}: write today's moments as 'now' or 'N hours ago'")
        return timezone.make_aware(dt.datetime.combine(day, dt.time(int(timed[2]), int(timed[3]))))

    def day_of(self, moment: dt.datetime | None) -> dt.date:
        return timezone.localdate(moment) if moment else self.today

    def born(self, age: int, birthday: str) -> dt.date:
        """The birth date of someone `age` years old today, born on `birthday` ("MM-DD")."""
        month, day = (int(part) for part in birthday.split("-"))
        had_birthday = (month, day) <= (self.today.month, self.today.day)
        return dt.date(self.today.year - age - (0 if had_birthday else 1), month, day)

    def tomorrow_morning(self) -> dt.datetime:
        return self.moment("tomorrow 10:00")
