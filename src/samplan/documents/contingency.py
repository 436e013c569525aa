"""Contingency packs (beredskapspaket): every active plan of a unit on paper, for when Samplan is
down (Region Halland works on the paper SIP form then).

A pack is a ZIP of
  * `planer/<SIP number>-v<version>.pdf`: one participants-layout PDF per active plan;
  * `blanketter/…`: the two blank SIP forms (adults; children and young people);
  * `index.csv`: a row per plan (SIP number, the person's name and identity number, coordinating
    unit, plan version, valid since, next follow-up, file name), UTF-8 with a BOM and semicolons,
    so Excel with Swedish settings opens it in columns with å, ä and ö right.

"Active plan of the unit": the valid (approved) version of every SIP that is not closed and that
the unit sees by the access layer's own rule (`visibility_q` for the unit alone: it takes part,
and it coordinates the SIP or the person's consent covers its organisation). A unit whose
organisation's consent was revoked no longer gets that plan; a draft is no plan yet.

A protected person (any level of skyddade personuppgifter) is listed by name with a flag and no
identity number, and no address is printed anywhere (plan_pdf prints none).

Who: staff with a coordinator or unit administrator assignment at the unit see its packs, build
one and download them (`PACK_ROLES`); the nightly task builds one for every active unit. The
newest KEPT_PER_UNIT packs of a unit are kept, older ones deleted in the same transaction.

The log (decided for the log review by person): building a pack keeps the data inside Samplan,
so a build is one EXPORT row for the unit (pack, plan count, who or the schedule); a download
or the shell command puts the plans in someone's hands, so each writes one EXPORT row per plan's
SIP and person, and the person's log extract shows which unit took their plan out, and when.
"""

from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
import os
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from samplan.access.models import AuditEvent
from samplan.access.services import active_unit_ids, audit, audit_each, visibility_q
from samplan.cases.models import PLAN_PARTS, PlanVersion, SipCase, State
from samplan.directory.models import Assignment, Unit
from samplan.errors import DomainError, PermissionRefused
from samplan.maintenance.mode import refuse_if_read_only

from .models import KEPT_PER_UNIT, ContingencyPack

# Who may see, build and download a unit's packs: a bulk copy of every plan is more than the
# daily work of a participant needs, so it is for the unit's coordinators and its administrator.
PACK_ROLES = (Assignment.Role.COORDINATOR, Assignment.Role.UNIT_ADMINISTRATOR)
WHAT = "contingency_pack"
INDEX_NAME = "index.csv"
BLANK_FORMS = (
    ("adult", "blanketter/SIP-blankett-vuxna.pdf"),
    ("child", "blanketter/SIP-blankett-barn-och-unga.pdf"),
)
# Plans loaded (with their parts) at a time: a few queries per batch, not per plan.
BATCH = 100
# pg_advisory_xact_lock(PACK_LOCK, unit id): one unit's packs stored and pruned one at a time.
PACK_LOCK = 7_306_916
# Excel runs a cell starting with one of these as a formula; a name must stay a name.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class SystemActor:
    """The schedule or the shell, in the audit log: no account, a name saying which."""

    is_authenticated = False

    def __init__(self, name: str):
        self.name = name

    def get_username(self) -> str:
        return self.name

    def audit_fields(self) -> dict:
        return {"username": self.name}


SCHEDULE = SystemActor("system: nightly contingency pack")


def pack_refused() -> PermissionRefused:
    return PermissionRefused(
        "Bara enhetens SIP-samordnare och enhetschef kan ta fram enhetens beredskapspaket.",
        "Only the unit's SIP coordinators and unit administrator can get its contingency packs.",
    )


def pack_units(user) -> list[int]:
    """The units whose packs the user may see, build and download."""
    return active_unit_ids(user, PACK_ROLES)


def may_handle_packs(user, unit_id: int) -> bool:
    return unit_id in pack_units(user)


def refuse(user, unit_id: int | None, what: str = WHAT) -> PermissionDenied:
    """The refusal, logged: a refused attempt at a bulk export is what a log review looks for."""
    audit(user, AuditEvent.Action.EXPORT, what, unit_id=unit_id, outcome=AuditEvent.Outcome.REFUSED)
    return PermissionDenied(pack_refused().message)


# --- What goes in a pack ----------------------------------------------------------------------


def active_plans(unit: Unit) -> QuerySet[PlanVersion]:
    """The valid plan of every open SIP the unit sees (see the module docstring), by the person's
    name, with what the PDF and the index print loaded."""
    seen = SipCase.objects.filter(visibility_q([unit.pk])).exclude(state=State.CLOSED)
    return (
        PlanVersion.objects.filter(status=PlanVersion.Status.VALID, case__in=seen.values("pk"))
        .select_related(
            "case__person",
            "case__coordinating_unit__organisation",
            "case__coordinator",
            "main_responsible_unit",
        )
        .prefetch_related(*PLAN_PARTS)
        .order_by("case__person__family_name", "case__person__given_name", "case_id")
    )


def plan_file_name(version: PlanVersion) -> str:
    return f"planer/{version.case.reference}-v{version.number}.pdf"


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def index_header() -> list[str]:
    return [
        _("SIP number"),
        _("Name"),
        _("Identity number"),
        _("Protected personal data"),
        _("Coordinating unit"),
        _("Plan version"),
        _("Valid since"),
        _("Next follow-up"),
        _("File"),
    ]


def index_row(version: PlanVersion) -> list[str]:
    case, person = version.case, version.case.person
    approved = timezone.localdate(version.approved_at) if version.approved_at else None
    return [
        _cell(value)
        for value in (
            case.reference,
            person.full_name,
            # A protected person: the name only, flagged; the number stays in Samplan.
            "" if person.is_protected else person.display_identity,
            _("Yes") if person.is_protected else "",
            case.coordinating_unit.name,
            version.number,
            approved.isoformat() if approved else "",
            version.follow_up_on.isoformat() if version.follow_up_on else "",
            plan_file_name(version),
        )
    ]


@dataclass
class PackContents:
    """What went into a pack: the plans' SIPs and persons, for the log."""

    cases: list[tuple[int, int]]

    @property
    def plan_count(self) -> int:
        return len(self.cases)


def pack_files(
    unit: Unit, contents: PackContents, *, processes: int = 1
) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file of the unit's pack, the index last; fills `contents`.
    In the default language (Swedish), whoever asks: the pack is the unit's paper copy.
    `processes` > 1 renders the plans in that many forked processes (see `_renderer`)."""
    # Imported here: WeasyPrint loads only when a document is rendered.
    from .blank_forms import blank_form_pdf

    with translation.override(settings.LANGUAGE_CODE), _renderer(processes) as render:
        for kind, name in BLANK_FORMS:
            yield name, blank_form_pdf(kind)
        rows = [index_header()]
        plans = active_plans(unit)
        # Read in batches of ids in the order by name; a SIP closed meanwhile stays in this pack.
        ids = list(plans.values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            by_id = {version.pk: version for version in plans.filter(pk__in=batch)}
            versions = [by_id[pk] for pk in batch if pk in by_id]
            for version, pdf in zip(versions, render(versions), strict=True):
                yield plan_file_name(version), pdf
                rows.append(index_row(version))
                contents.cases.append((version.case_id, version.case.person_id))
        yield INDEX_NAME, index_csv(rows)


def _render_plan(version: PlanVersion) -> bytes:
    from .plan_pdf import plan_pdf

    with translation.override(settings.LANGUAGE_CODE):
        return plan_pdf(version, layout="participants")


def _no_database(execute, sql, params, many, context):
    raise RuntimeError("A contingency pack's rendering process reads nothing from the database.")


def _forked_process_start() -> None:
    # The parent's connection is shared after fork: using (or closing) it here would break the
    # parent's session. Everything a plan prints comes loaded with it, so refuse any query.
    from django.db import connections

    for alias in connections:
        connections[alias].execute_wrappers.append(_no_database)


@contextmanager
def _renderer(processes: int):
    """A function from a list of plan versions (loaded with everything they print) to their
    PDFs, in order. WeasyPrint's layout is the cost of a pack (a few hundred ms a plan, one core
    each), so the nightly build and the shell render on every core: forked processes, which
    inherit the loaded fonts and settings and get the versions pickled with their parts."""
    if processes <= 1:
        yield lambda versions: [_render_plan(version) for version in versions]
        return
    with multiprocessing.get_context("fork").Pool(processes, _forked_process_start) as pool:
        yield lambda versions: pool.map(_render_plan, versions, chunksize=4)


def pack_processes() -> int:
    """How many processes the nightly build and the shell render with: the setting, or one per
    core (the requests build with one: a web server's process is no place to fork from)."""
    configured = getattr(settings, "SAMPLAN_PACK_PROCESSES", 0)
    return configured if configured > 0 else os.cpu_count() or 1


def index_csv(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def pack_zip(unit: Unit, *, processes: int = 1) -> tuple[bytes, PackContents]:
    contents = PackContents(cases=[])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in pack_files(unit, contents, processes=processes):
            # PDFs are compressed already; the index is text.
            method = zipfile.ZIP_DEFLATED if name.endswith(".csv") else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=method)
    return buffer.getvalue(), contents


# --- Building, keeping, downloading -----------------------------------------------------------


def build_pack(unit: Unit, *, actor=None, processes: int = 1) -> ContingencyPack:
    """Build the unit's pack and keep it, with the newest before it; older ones go.

    `actor` None: the nightly schedule. A staff member must hold one of PACK_ROLES at the unit,
    and read-only mode refuses them (the schedule skips itself: see tasks.py). Rendering runs
    outside any transaction (in `processes` processes); storing and pruning are serialised per
    unit, so two builds at once keep the newest two and never delete each other's."""
    if actor is not None:
        refuse_if_read_only()
        if not may_handle_packs(actor, unit.pk):
            raise pack_refused()
    content, contents = pack_zip(unit, processes=processes)
    with transaction.atomic():
        _lock_unit_packs(unit.pk)
        pack = ContingencyPack.objects.create(
            unit=unit,
            trigger=ContingencyPack.Trigger.SCHEDULE
            if actor is None
            else ContingencyPack.Trigger.STAFF,
            built_by=actor,
            built_by_name=actor.get_username() if actor is not None else "",
            plan_count=contents.plan_count,
            cases=[list(pair) for pair in contents.cases],
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )
        kept = ContingencyPack.objects.filter(unit=unit).order_by("-built_at", "-id")
        keep = list(kept.values_list("pk", flat=True)[:KEPT_PER_UNIT])
        ContingencyPack.objects.filter(unit=unit).exclude(pk__in=keep).delete()
        audit(
            actor if actor is not None else SCHEDULE,
            AuditEvent.Action.EXPORT,
            WHAT,
            unit_id=unit.pk,
            detail=f"built pack #{pack.pk}: {contents.plan_count} plans",
        )
    return pack


def _lock_unit_packs(unit_id: int) -> None:
    """Serialise storing and pruning one unit's packs, to the end of the transaction. An
    advisory lock of its own rather than the unit's row: the audit chain's lock comes after it,
    and a grant that changes a unit takes the chain's lock before the unit's row. SQLite has
    one writer at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PACK_LOCK, unit_id])


def packs_of(unit_ids: Iterable[int]) -> QuerySet[ContingencyPack]:
    """The kept packs of the units, newest first, without their bytes."""
    return (
        ContingencyPack.objects.filter(unit_id__in=list(unit_ids))
        .defer("content", "cases")
        .select_related("unit")
        .order_by("unit_id", "-built_at", "-id")
    )


def audit_taken_out(actor, unit_id: int, pack_label: str, cases: list, *, path: str = "") -> None:
    """One EXPORT row per plan's SIP and person (one for the unit when the pack has none)."""
    detail = f"{pack_label}: {len(cases)} plans" + (f" to {path}" if path else "")
    audit_each(
        actor,
        AuditEvent.Action.EXPORT,
        WHAT,
        [tuple(pair) for pair in cases] or [(None, None)],
        unit_id=unit_id,
        detail=detail[:300],
    )


def download(user, pack_id: int) -> ContingencyPack:
    """The pack, if the user may take out its unit's packs; the download is logged per plan."""
    pack = ContingencyPack.objects.filter(pk=pack_id).select_related("unit").first()
    if pack is None or not may_handle_packs(user, pack.unit_id):
        raise refuse(user, pack.unit_id if pack else None)
    if no_longer_seen(pack):
        audit(
            user,
            AuditEvent.Action.EXPORT,
            WHAT,
            unit_id=pack.unit_id,
            outcome=AuditEvent.Outcome.REFUSED,
            detail=f"pack #{pack.pk} holds a plan the unit no longer sees",
        )
        raise stale_pack_error()
    audit_taken_out(user, pack.unit_id, f"downloaded pack #{pack.pk}", pack.cases)
    return pack


def no_longer_seen(pack: ContingencyPack) -> bool:
    """Whether a SIP in the pack is one the unit may no longer see (a revocation since the
    build, or the retention time over): such a pack is not handed out, a new one is built."""
    case_ids = {case_id for case_id, _ in pack.cases}
    if not case_ids:
        return False
    seen = SipCase.objects.filter(visibility_q([pack.unit_id]), pk__in=case_ids)
    return seen.count() != len(case_ids)


def stale_pack_error() -> DomainError:
    return DomainError(
        "Paketet innehåller en plan som enheten inte längre får se, till exempel efter att "
        "samtycket återkallats. Skapa ett nytt paket.",
        "The pack holds a plan the unit may no longer see, for example after the consent was "
        "revoked. Build a new pack.",
        code="stale_pack",
    )


def write_pack_to(unit: Unit, directory: Path, *, actor, processes: int = 1) -> PackContents:
    """The pack as files in `directory` (created; directories 0700, files 0600, never through a
    symbolic link), logged per plan as an export by `actor`."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    contents = PackContents(cases=[])
    for name, data in pack_files(unit, contents, processes=processes):
        target = directory / name
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(target, flags, 0o600)
        try:
            os.fchmod(descriptor, 0o600)  # a file there before keeps its mode otherwise
            with os.fdopen(descriptor, "wb", closefd=False) as handle:
                handle.write(data)
        finally:
            os.close(descriptor)
    audit_taken_out(actor, unit.pk, "wrote pack", contents.cases, path=str(directory.resolve()))
    return contents
