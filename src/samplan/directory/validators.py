"""Format checks for identifiers of the national directory (HSA-katalogen) and of companies."""

import re

from django.core.exceptions import ValidationError

HSA_ID = re.compile(r"SE[0-9]{10}-[A-Za-z0-9]+")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def validate_hsa_id(value: str) -> None:
    """An HSA-id is SE + the owner's 10-digit organisation number + '-' + letters/digits, ≤ 31."""
    if len(value) > 31 or not HSA_ID.fullmatch(value):
        raise ValidationError(
            "HSA-id ska vara SE, tio siffror, bindestreck och bokstäver a–z eller siffror "
            "(högst 31 tecken), till exempel SE2321000016-1234. / An HSA-id is SE, ten digits, "
            "a hyphen and letters a–z or digits (at most 31 characters), e.g. SE2321000016-1234.",
            code="hsa_id",
        )


def validate_organisation_number(value: str) -> None:
    """Swedish organisation number: ten digits (hyphen allowed), the last a Luhn check digit."""
    digits = value.replace("-", "")
    if not re.fullmatch(r"[0-9]{6}-?[0-9]{4}", value) or not luhn_ok(digits):
        raise ValidationError(
            "Organisationsnumret ska ha tio siffror (NNNNNN-NNNN) med rätt kontrollsiffra. / "
            "The organisation number must have ten digits (NNNNNN-NNNN) with a correct check "
            "digit.",
            code="organisation_number",
        )
