"""People: the person a SIP is for (den enskilde) and those around them (närstående, ombud)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from samplan.errors import DomainError

from .identity import age_on, display_number, parse_identity


class Person(models.Model):
    """The person a SIP is for. Their data is read only through samplan.access."""

    class IdentityKind(models.TextChoices):
        PERSONNUMMER = "personnummer", _("Personal identity number (personnummer)")
        SAMORDNINGSNUMMER = "samordningsnummer", _("Coordination number (samordningsnummer)")
        RESERVE = "reserve", _("Reserve number (reservnummer)")

    class Protection(models.TextChoices):
        """Skyddade personuppgifter, three levels (SIP.md)."""

        NONE = "none", _("None")
        SEKRETESSMARKERING = "sekretessmarkering", _("Confidentiality mark (sekretessmarkering)")
        SKYDDAD_FOLKBOKFORING = (
            "skyddad_folkbokforing",
            _("Protected registration (skyddad folkbokföring)"),
        )
        FINGERADE = "fingerade", _("Fictitious identity (fingerade personuppgifter)")

    identity_kind = models.CharField(
        _("kind of identity number"), max_length=20, choices=IdentityKind.choices
    )
    identity_number = models.CharField(_("identity number"), max_length=20, unique=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=40, default="sv")
    interpreter_language = models.CharField(
        _("interpreter needed in"), max_length=40, blank=True, help_text=_("Empty: no interpreter")
    )
    sign_language = models.BooleanField(_("needs sign language"), default=False)
    protection = models.CharField(
        _("protected personal data"),
        max_length=24,
        choices=Protection.choices,
        default=Protection.NONE,
    )
    # Min SIP (samplan.mypages): a person of 15–17 signs in to their own view only when they and
    # their guardians have decided so; under 15 the guardians see the plan for them.
    own_view = models.BooleanField(
        _("has their own view in Min SIP (15–17 years)"),
        default=False,
        help_text=_("Decided by the young person and their guardians. From 18 always."),
    )
    is_fictitious = models.BooleanField(
        _("fictitious demo person"), default=False, help_text=_("Never use outside the demo.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def display_identity(self) -> str:
        return display_number(self.identity_number, self.identity_kind)

    @property
    def age(self) -> int | None:
        return age_on(self.birth_date) if self.birth_date else None

    @property
    def is_minor(self) -> bool:
        return self.age is not None and self.age < 18

    @property
    def is_protected(self) -> bool:
        return self.protection != self.Protection.NONE

    @property
    def shown_address(self) -> str:
        return "" if self.protection == self.Protection.SKYDDAD_FOLKBOKFORING else self.address

    def clean(self) -> None:
        try:
            identity = parse_identity(
                self.identity_number, reserve=self.identity_kind == self.IdentityKind.RESERVE
            )
        except DomainError as error:
            raise ValidationError({"identity_number": error.message}) from error
        self.identity_kind = identity.kind
        self.identity_number = identity.number
        self.birth_date = identity.birth_date or self.birth_date
        if self.protection == self.Protection.SKYDDAD_FOLKBOKFORING and self.address:
            raise ValidationError(
                {
                    "address": "Adressen för en person med skyddad folkbokföring lagras aldrig; "
                    "post går via Skatteverket. / The address of a person with protected "
                    "registration is never stored; mail goes via Skatteverket."
                }
            )


class RelatedParty(models.Model):
    """Someone around the person: guardian, god man, förvaltare, relative, personligt ombud…"""

    class Kind(models.TextChoices):
        GUARDIAN = "guardian", _("Guardian (vårdnadshavare)")
        GOD_MAN = "god_man", _("Trustee (god man)")
        FORVALTARE = "forvaltare", _("Administrator (förvaltare)")
        RELATIVE = "relative", _("Relative (närstående)")
        PERSONLIGT_OMBUD = "personligt_ombud", _("Personal agent (personligt ombud)")
        SUPPORT_PERSON = "support_person", _("Support person (stödperson)")

    class Sees(models.TextChoices):
        """What the person lets them see. Guardians of a minor see all by law."""

        NOTHING = "nothing", _("Nothing")
        MEETINGS = "meetings", _("Meeting times and places")
        PLAN = "plan", _("The approved plan")
        EVERYTHING = "everything", _("Everything in the SIP")

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="related_parties", verbose_name=_("person")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    # Lets them sign in to Min SIP (samplan.mypages) with e-legitimation: the identity provider's
    # claim is matched against this. Empty: they cannot sign in.
    identity_number = models.CharField(
        _("identity number"), max_length=20, blank=True, db_index=True
    )
    relation = models.CharField(_("relation"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    mandate = models.TextField(
        _("mandate"), blank=True, help_text=_("For god man and förvaltare: what they act on.")
    )
    # A god man or förvaltare acts for the person (approves the plan, revokes consent, ends the
    # SIP) only when the recorded mandate covers it. Guardians of a minor act by law.
    may_act = models.BooleanField(
        _("the mandate covers acting in the SIP"),
        default=False,
        help_text=_("For god man and förvaltare: approve the plan, revoke consent, end the SIP."),
    )
    may_see = models.CharField(
        _("may see"), max_length=12, choices=Sees.choices, default=Sees.NOTHING
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("related party")
        verbose_name_plural = _("related parties")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def acts_for_person(self) -> bool:
        return self.kind in {self.Kind.GUARDIAN, self.Kind.GOD_MAN, self.Kind.FORVALTARE}
