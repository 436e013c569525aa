"""What the synthetic county is made of: names, places, weights of states and closings,
profiles of the units that coordinate, and the interventions they plan."""

from __future__ import annotations

from dataclasses import dataclass

from samplan.cases.models import (
    SipCase,
    State,
)
from samplan.directory.models import Assignment, Organisation

BATCH = 5000
REGION_PREFIX = "Syntetiska regionen"

Kind = Organisation.Kind
Role = Assignment.Role
Reason = SipCase.ClosingReason

# Share of cases ending in each state: most SIPs are established or closed, some on the way.
STATE_WEIGHTS = {
    State.INITIATED: 6,
    State.INFORMED: 5,
    State.CONSENTED: 5,
    State.PREPARATION: 6,
    State.MEETING_CALLED: 8,
    State.PLAN_ESTABLISHED: 30,
    State.FOLLOW_UP: 10,
    State.CLOSED: 30,
}
CLOSING_WEIGHTS = {
    Reason.DECLINED: 20,
    Reason.CONSENT_REVOKED: 10,
    Reason.GOALS_REACHED: 40,
    Reason.NO_LONGER_NEEDED: 15,
    Reason.MOVED: 10,
    Reason.DECEASED: 5,
}
# The steps to each state, along the transition table (cases/transitions.py).
PATH = [
    ("initiate", State.INITIATED),
    ("record_information", State.INFORMED),
    ("give_consent", State.CONSENTED),
    ("start_preparation", State.PREPARATION),
    ("call_meeting", State.MEETING_CALLED),
    ("establish_plan", State.PLAN_ESTABLISHED),
    ("call_follow_up", State.FOLLOW_UP),
]
STEPS_TO = {state: index + 1 for index, (_, state) in enumerate(PATH)}
# Days between one step and the next (the first is the initiative itself).
GAPS = [(0, 0), (0.5, 3), (0.5, 5), (0.5, 4), (0.5, 4), (5, 20), (40, 90)]


def _words(text: str) -> list[str]:
    return text.split()


PLACE_PARTS = _words("Sjö Norr Väster Öster Söder Ek Björk Gran Lind Ås Berg Dal Strand Hav Älv")
PLACE_ENDS = _words("by vik stad köping hamn torp sala näs")
GIVEN_NAMES = _words(
    "Anna Eva Maria Karin Sara Lena Kerstin Ingrid Elsa Alice Maja Noor Fatima Astrid Ebba "
    "Lars Erik Karl Johan Anders Per Mohammed Ali Oskar Lucas Liam Elias Hugo Bertil Gunnar "
    "Sven Yonas Amir Ahmed Olle Nils"
)
FAMILY_NAMES = _words(
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
    "Pettersson Jonsson Jansson Hansson Bengtsson Lindberg Jakobsson Magnusson Lindström "
    "Olofsson Hassan Ali Mohammed Nguyen Haddad Lindqvist Åberg Öberg Sandberg Holm"
)
STREETS = _words("Storgatan Kyrkvägen Skolgatan Ekvägen Björkallén Parkvägen Strandvägen")
LANGUAGES = _words("arabiska somaliska tigrinja persiska polska finska bosniska")
MESSAGES = [
    "Vi har pratat med personen och bokat nästa besök.",
    "Kan någon ringa anhöriga före mötet?",
    "Insatsen är på plats från måndag.",
    "Personen vill flytta mötet en timme senare.",
    "Beslutet är fattat; skickas hem i veckan.",
]


@dataclass(frozen=True)
class Profile:
    """A kind of SIP: how common, the person's age, which units coordinate and take part."""

    weight: int
    ages: tuple[int, int]
    coordinating: tuple[str, ...]
    taking_part: tuple[str, ...]
    goals: tuple[str, ...]


PROFILES = {
    "elderly": Profile(
        45,
        (65, 99),
        ("vc", "bistand"),
        ("hemtjanst", "hemsjukvard", "rehab", "provider"),
        ("Jag vill bo kvar hemma.", "Jag vill kunna gå till affären själv."),
    ),
    "psychiatry": Profile(
        25,
        (18, 65),
        ("psykiatri", "soc_vuxen"),
        ("boendestod", "fk", "af", "vc"),
        ("Ha en egen lägenhet om ett år.", "Jobba deltid igen."),
    ),
    "child": Profile(
        20,
        (4, 17),
        ("soc_barn", "bup"),
        ("elevhalsa", "bup", "soc_barn", "habilitering"),
        ("Gå i skolan tre dagar i veckan.", "Spela match igen."),
    ),
    "disability": Profile(
        10,
        (18, 45),
        ("lss", "habilitering"),
        ("boendestod", "vc", "habilitering"),
        ("Laga middag själv tre dagar i veckan.", "Åka buss på egen hand."),
    ),
}
INTERVENTIONS = {
    "vc": "Läkemedelsgenomgång och uppföljning",
    "bistand": "Biståndsbedömning och uppföljning av beslut",
    "hemtjanst": "Hemtjänst morgon och kväll",
    "hemsjukvard": "Hemsjukvård: såromläggning och läkemedel",
    "rehab": "Gångträning två gånger i veckan",
    "provider": "Hemtjänst med fast kontaktperson",
    "psykiatri": "Läkemedelsuppföljning varje månad",
    "soc_vuxen": "Stödsamtal varannan vecka",
    "boendestod": "Boendestöd två gånger i veckan",
    "fk": "Beslut om sjukpenning och avstämningsmöte",
    "af": "Kartläggning inför arbetslivsinriktad rehabilitering",
    "soc_barn": "Familjesamtal varannan vecka",
    "bup": "KBT varje vecka",
    "elevhalsa": "Anpassat schema och ett lugnt rum",
    "habilitering": "Habiliteringsinsatser med bildstöd",
    "lss": "Boende med särskild service enligt LSS",
}
COORDINATING_KINDS = {kind for profile in PROFILES.values() for kind in profile.coordinating}
