"""Identity numbers of the person (personnummer, samordningsnummer, reserve numbers), protected
personal data on the Person, and the directory's HSA-id and organisation number checks."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from samplan.directory.models import Organisation, Unit
from samplan.directory.validators import validate_hsa_id, validate_organisation_number
from samplan.errors import DomainError
from samplan.people.identity import check_digit, make_identity_number, parse_identity
from samplan.people.models import Person
from tests.domain_helpers import assert_bilingual


def luhn_number(yymmdd_nnn: str, century: str = "") -> str:
    """A number with a correct check digit, whatever the date says."""
    return f"{century}{yymmdd_nnn}{check_digit(yymmdd_nnn)}"


def refused(raw: str, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        parse_identity(raw, **kwargs)
    return caught.value


# --- Personnummer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["19121212-1212", "191212121212", "19121212+1212", "121212+1212", " 19121212 - 1212 "],
)
def test_personnummer_is_accepted_in_every_written_form_and_normalised(raw):
    identity = parse_identity(raw)
    assert identity.kind == "personnummer"
    assert identity.number == "191212121212"
    assert identity.birth_date == dt.date(1912, 12, 12)


@pytest.mark.parametrize("raw", ["121212-1212", "1212121212"])
def test_ten_digit_number_without_plus_belongs_to_the_last_hundred_years(raw):
    identity = parse_identity(raw)
    assert identity.number == "201212121212"
    assert identity.birth_date == dt.date(2012, 12, 12)


def test_plus_marks_a_person_aged_one_hundred_or_more():
    hundred_and_one = parse_identity("121212+1212")
    younger = parse_identity("121212-1212")
    assert hundred_and_one.birth_date.year == younger.birth_date.year - 100


@pytest.mark.parametrize("raw", ["19121212-1213", "191212121219", "121212-1210", "1212121211"])
def test_wrong_check_digit_is_refused_as_checksum(raw):
    error = refused(raw)
    assert error.code == "checksum"
    assert error.field == "identity_number"
    assert "Kontrollsiffran" in error.sv
    assert "check digit" in error.en


@pytest.mark.parametrize(
    "raw",
    [
        luhn_number("990230123", "19"),  # 30 February
        luhn_number("990230123"),  # the same, ten digits
        luhn_number("990229123", "19"),  # 29 February in a year that is not a leap year
        luhn_number("991301123", "19"),  # month 13
        luhn_number("990100123", "19"),  # day 0
        luhn_number("990432123", "19"),  # 32 April
        luhn_number("990292123", "19"),  # a samordningsnummer for 32 February
    ],
)
def test_impossible_date_is_refused_as_date_even_with_a_correct_check_digit(raw):
    error = refused(raw)
    assert error.code == "date"
    assert error.field == "identity_number"
    assert "Datumet" in error.sv
    assert "date" in error.en


def test_leap_day_in_a_leap_year_is_a_real_date():
    identity = parse_identity(luhn_number("000229123", "20"))
    assert identity.birth_date == dt.date(2000, 2, 29)


def test_samordningsnummer_has_day_plus_sixty_and_is_recognised_as_such():
    identity = parse_identity("19701063-2391")
    assert identity.kind == "samordningsnummer"
    assert identity.number == "197010632391"
    assert identity.birth_date == dt.date(1970, 10, 3)


def test_samordningsnummer_in_ten_digits_is_recognised_too():
    assert parse_identity("701063-2391").kind == "samordningsnummer"


def test_samordningsnummer_with_wrong_check_digit_is_refused():
    assert refused("19701063-2392").code == "checksum"


def test_made_up_numbers_of_the_factories_are_valid_in_both_kinds():
    born = dt.date(1984, 3, 9)
    assert parse_identity(make_identity_number(born, 123)).kind == "personnummer"
    coordination = parse_identity(make_identity_number(born, 123, coordination=True))
    assert coordination.kind == "samordningsnummer"
    assert coordination.birth_date == born


def test_birth_date_in_the_future_is_refused():
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    error = refused(make_identity_number(tomorrow, 123))
    assert error.code == "date"
    assert "framtiden" in error.sv
    assert "future" in error.en


def test_birth_today_is_accepted():
    today = timezone.localdate()
    assert parse_identity(make_identity_number(today, 123)).birth_date == today


@pytest.mark.parametrize(
    "raw",
    [
        "1912121212123",
        "abcdefghij",
        "1912-1212-12x",
        "19121212-12",  # ten digits, but the hyphen would make it someone born in 2019
        "191212-121212",
        "19121212--1212",
        "١٢١٢١٢-١٢١٢",  # Arabic-Indic digits
    ],
)
def test_wrong_shape_length_or_characters_are_refused_as_format(raw):
    assert refused(raw).code == "format"


def test_an_empty_number_is_required():
    assert refused("  ").code == "required"


# --- Reserve numbers ------------------------------------------------------------------------


def test_reserve_number_is_accepted_upper_cased_without_a_birth_date():
    identity = parse_identity("res-2024-0042", reserve=True)
    assert identity.kind == "reserve"
    assert identity.number == "RES-2024-0042"
    assert identity.birth_date is None


def test_a_reserve_number_is_not_checked_as_a_personnummer():
    # Ten digits with a wrong check digit: refused as a personnummer, fine as a reserve number.
    assert refused("1212121211").code == "checksum"
    assert parse_identity("1212121211", reserve=True).kind == "reserve"


@pytest.mark.parametrize("raw", ["AB1", "-ABCD", "RES_0042", "RESÅ0042", "R" * 21])
def test_malformed_reserve_number_is_refused(raw):
    error = refused(raw, reserve=True)
    assert error.code == "reserve_format"
    assert error.field == "identity_number"


# --- Messages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reserve"),
    [
        ("", False),
        ("123", False),
        ("19121212-1213", False),
        (luhn_number("990230123", "19"), False),
        (luhn_number("991301123", "19"), False),
        ("AB", True),
    ],
)
def test_every_identity_error_is_told_in_swedish_and_english_and_names_the_field(raw, reserve):
    error = refused(raw, reserve=reserve, field="personnummer")
    assert_bilingual(error)
    assert error.field == "personnummer"
    with translation.override("en"):
        assert str(error) == error.en
    with translation.override("sv"):
        assert str(error) == error.sv


# --- The Person -----------------------------------------------------------------------------


def new_person(**kwargs) -> Person:
    values = dict(
        identity_kind=Person.IdentityKind.PERSONNUMMER,
        identity_number="19121212-1212",
        given_name="Tolvan",
        family_name="Tolvansson",
    )
    values.update(kwargs)
    return Person(**values)


@pytest.mark.django_db
def test_person_clean_normalises_the_number_and_takes_kind_and_birth_date_from_it():
    person = new_person(identity_number="701063-2391")
    person.full_clean()
    assert person.identity_kind == Person.IdentityKind.SAMORDNINGSNUMMER
    assert person.identity_number == "197010632391"
    assert person.birth_date == dt.date(1970, 10, 3)
    assert person.display_identity == "19701063-2391"


@pytest.mark.django_db
def test_person_clean_refuses_an_invalid_number_on_its_field():
    with pytest.raises(ValidationError) as caught:
        new_person(identity_number="19121212-1213").full_clean()
    assert "identity_number" in caught.value.message_dict


@pytest.mark.django_db
def test_person_with_a_reserve_number_keeps_a_birth_date_entered_by_hand():
    person = new_person(
        identity_kind=Person.IdentityKind.RESERVE,
        identity_number="r7",
        birth_date=dt.date(1990, 1, 1),
    )
    with pytest.raises(ValidationError):  # too short: four characters at least
        person.full_clean()
    person.identity_number = "res-7701"
    person.full_clean()
    assert person.identity_number == "RES-7701"
    assert person.birth_date == dt.date(1990, 1, 1)


@pytest.mark.django_db
def test_address_of_a_person_with_skyddad_folkbokforing_is_never_stored():
    person = new_person(
        protection=Person.Protection.SKYDDAD_FOLKBOKFORING, address="Hemliga vägen 1"
    )
    with pytest.raises(ValidationError) as caught:
        person.full_clean()
    message = " ".join(caught.value.message_dict["address"])
    assert "Skatteverket" in message
    assert "skyddad folkbokföring" in message
    assert "protected registration" in message


@pytest.mark.django_db
def test_skyddad_folkbokforing_without_an_address_is_accepted_and_flagged():
    person = new_person(protection=Person.Protection.SKYDDAD_FOLKBOKFORING)
    person.full_clean()
    assert person.is_protected


@pytest.mark.django_db
def test_sekretessmarkering_keeps_the_address_but_flags_the_person():
    person = new_person(protection=Person.Protection.SEKRETESSMARKERING, address="Storgatan 1")
    person.full_clean()
    assert person.is_protected
    assert person.shown_address == "Storgatan 1"


def test_address_is_not_shown_for_skyddad_folkbokforing_even_if_stored_before():
    person = new_person(protection=Person.Protection.SKYDDAD_FOLKBOKFORING, address="Gamla 2")
    assert person.shown_address == ""
    assert new_person(address="Gamla 2").shown_address == "Gamla 2"


def years_ago(years: int, days: int = 0) -> dt.date:
    today = timezone.localdate()
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - years, day=28)
    return anniversary + dt.timedelta(days=days)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("born", "age", "minor"),
    [
        (years_ago(18), 18, False),  # eighteenth birthday today
        (years_ago(18, days=1), 17, True),  # eighteen tomorrow
        (years_ago(15), 15, True),
        (years_ago(40, days=-1), 40, False),
    ],
)
def test_age_and_minority_come_from_the_number(born, age, minor):
    person = new_person(identity_number=make_identity_number(born, 321), birth_date=None)
    person.full_clean()
    assert person.birth_date == born
    assert person.age == age
    assert person.is_minor is minor


def test_person_without_a_birth_date_is_not_taken_for_a_minor():
    person = new_person(identity_kind=Person.IdentityKind.RESERVE, birth_date=None)
    assert person.age is None
    assert person.is_minor is False


# --- HSA-id ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["SE2321000016-1234", "SE2321000016-E12Ab", "SE2120000142-" + "A" * 18],  # 31 characters
)
def test_valid_hsa_id_is_accepted(value):
    validate_hsa_id(value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("SE2120000142-" + "A" * 19, "32 characters"),
        ("SE2321000016-Åsa", "å"),
        ("SE2321000016-Bäck", "ä"),
        ("SE2321000016-Östra", "ö"),
        ("SX2321000016-1234", "wrong prefix"),
        ("se2321000016-1234", "prefix in lower case"),
        ("2321000016-1234", "no prefix"),
        ("SE232100001-1234", "nine digits"),
        ("SE23210000166-1234", "eleven digits"),
        ("SE2321000016_1234", "no hyphen"),
        ("SE2321000016-", "nothing after the hyphen"),
        ("SE2321000016-12 34", "a space"),
        ("SE2321000016-1234\n", "a trailing line break"),
        ("SE٢٣٢١٠٠٠٠١٦-1234", "digits that are not 0-9"),
    ],
)
def test_malformed_hsa_id_is_refused(value, why):
    with pytest.raises(ValidationError) as caught:
        validate_hsa_id(value)
    assert caught.value.code == "hsa_id", why
    assert "HSA-id" in caught.value.messages[0]


@pytest.mark.django_db
def test_unit_with_a_malformed_hsa_id_is_refused_on_that_field(county):
    unit = Unit(organisation=county.region, name="Psykiatrisk öppenvård", hsa_id="SE123-Ö")
    with pytest.raises(ValidationError) as caught:
        unit.full_clean()
    assert list(caught.value.message_dict) == ["hsa_id"]
    unit.hsa_id = "SE2321000016-PSYK1"
    unit.full_clean()


# --- Organisation number --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["232100-0016", "2321000016", "212000-0142", "202100-5489"])
def test_valid_organisation_number_is_accepted(value):
    validate_organisation_number(value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("232100-0017", "bad Luhn"),
        ("2321000015", "bad Luhn, no hyphen"),
        ("232100-00166", "eleven digits"),
        ("23210-0016", "nine digits"),
        ("2321-000016", "hyphen in the wrong place"),
        ("23-21-00-0016", "several hyphens"),
        ("23210O-0016", "a letter O for a zero"),
        ("٢٣٢١٠٠-٠٠١٦", "digits that are not 0-9"),
        ("", "empty"),
    ],
)
def test_malformed_organisation_number_is_refused(value, why):
    with pytest.raises(ValidationError) as caught:
        validate_organisation_number(value)
    assert caught.value.code == "organisation_number", why


@pytest.mark.django_db
def test_organisation_with_bad_check_digit_is_refused_on_that_field():
    organisation = Organisation(
        name="Region Test", kind=Organisation.Kind.REGION, organisation_number="232100-0017"
    )
    with pytest.raises(ValidationError) as caught:
        organisation.full_clean()
    assert list(caught.value.message_dict) == ["organisation_number"]
    organisation.organisation_number = "232100-0016"
    organisation.full_clean()
