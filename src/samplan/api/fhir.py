"""FHIR R4B over HTTP: GET /fhir/CarePlan?patient.identifier=… and GET /fhir/CarePlan/{id}, the
way a region publishes a person's plan to a national patient portal, and /fhir/metadata.

Each CarePlan is served self-contained: what it refers to in the export's Bundle (the Patient,
its Goals, the CareTeam and the Organizations and PractitionerRoles in it) travels inside it as
contained resources, referred to as `#id`; an earlier version it replaces is referred to as
`CarePlan/{id}`, which this server answers. The export builds every resource (fhir/export.py),
so the API and `manage.py export_fhir` cannot disagree; each answer is validated as an R4B
CarePlan or Bundle before it leaves.

Access and audit as everywhere: the cases come from `cases_visible_to`/`get_case_for`; a read by
id is one read row (what "fhir_careplan"), a search one row per SIP found, and a search that finds
no SIP this system may see, for a person who exists, a refused row naming that person, so a
system fishing for people shows in the log review.
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.careplan import CarePlan
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from samplan.access.models import AuditEvent
from samplan.access.services import audit, cases_visible_to, get_case_for, log_list_reads
from samplan.cases.models import PlanVersion
from samplan.errors import DomainError
from samplan.fhir.export import PERSONNUMMER, SAMORDNINGSNUMMER, case_bundle
from samplan.people.identity import parse_identity
from samplan.people.models import Person

WHAT = "fhir_careplan"
IDENTIFIER_SYSTEMS = {PERSONNUMMER, SAMORDNINGSNUMMER}
SEARCH_PARAMETERS = {"patient.identifier", "status"}
IDENTIFIER_PATTERN = r"^urn:oid:1\.2\.752\.129\.2\.1\.3\.[13]\|(\d{6}|\d{8})[-+]?\d{4}$"
UNAUTHORISED = OpenApiResponse(OpenApiTypes.OBJECT, description="No valid bearer token.")


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


def operation_outcome(code: str, text: str, http_status: int) -> Response:
    return Response(outcome(code, text), status=http_status)


ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}


class FhirView(APIView):
    """Answers in FHIR JSON, errors included: every refusal is an OperationOutcome."""

    renderer_classes = [FhirJSONRenderer]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response.data.get("resourceType") != "OperationOutcome":
            code = ISSUE_CODES.get(response.status_code, "processing")
            response.data = outcome(code, str(response.data.get("detail", "")))
        return response


def outcome(code: str, text: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }


def _references(node, found: set[str]) -> None:
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and reference.startswith("urn:uuid:"):
            found.add(reference.removeprefix("urn:uuid:"))
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def _rewrite(node, local: dict[str, str]):
    if isinstance(node, dict):
        out = {key: _rewrite(value, local) for key, value in node.items()}
        reference = out.get("reference")
        if isinstance(reference, str) and reference.startswith("urn:uuid:"):
            out["reference"] = local[reference.removeprefix("urn:uuid:")]
        return out
    if isinstance(node, list):
        return [_rewrite(value, local) for value in node]
    return node


def self_contained(bundle: Bundle, care_plan_id: str) -> dict:
    """The CarePlan `care_plan_id` of an export Bundle, with everything it refers to contained."""
    resources = {
        entry.resource.id: entry.resource.model_dump(mode="json") for entry in bundle.entry
    }
    plan = resources[care_plan_id]
    wanted: list[str] = []
    seen: set[str] = set()
    pending = {care_plan_id}
    while pending:
        key = pending.pop()
        found: set[str] = set()
        _references(resources[key], found)
        for other in sorted(found - seen - {care_plan_id}):
            seen.add(other)
            if resources[other]["resourceType"] != "CarePlan":
                wanted.append(other)
                pending.add(other)
    local = {key: f"#{key}" for key in wanted}
    local |= {
        key: f"CarePlan/{key}"
        for key, resource in resources.items()
        if resource["resourceType"] == "CarePlan"
    }
    body = _rewrite(plan, local)
    body["contained"] = [_rewrite(resources[key], local) for key in wanted]
    body["meta"] = {**body.get("meta", {}), "lastUpdated": bundle.timestamp.isoformat()}
    if bundle.meta and bundle.meta.security:
        body["meta"]["security"] = [code.model_dump(mode="json") for code in bundle.meta.security]
    return CarePlan.model_validate(body).model_dump(mode="json")


def _versions_of(case) -> tuple[Bundle, list[str]]:
    """The CarePlans the export has for this case: every version but a draft under a valid one."""
    bundle = case_bundle(case)
    return bundle, [
        entry.resource.id
        for entry in bundle.entry
        if entry.resource.__resource_type__ == "CarePlan"
    ]


class CarePlanRead(FhirView):
    @extend_schema(
        operation_id="fhir_careplan_read",
        summary="One version of a plan as a self-contained FHIR R4B CarePlan",
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4B CarePlan."),
            401: UNAUTHORISED,
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="An OperationOutcome."),
        },
    )
    def get(self, request, fhir_id):
        version = PlanVersion.objects.filter(fhir_id=fhir_id).values_list("case_id", flat=True)
        case_id = version.first()
        if case_id is None:
            audit(
                request.user,
                AuditEvent.Action.READ,
                WHAT,
                outcome=AuditEvent.Outcome.REFUSED,
                detail="no such CarePlan",
            )
            raise Http404
        case = get_case_for(request.user, case_id, what=WHAT)
        bundle = case_bundle(case)
        ids = {entry.resource.id for entry in bundle.entry}
        if str(fhir_id) not in ids:  # a draft under a valid version is not published
            raise Http404
        return Response(self_contained(bundle, str(fhir_id)))


class CarePlanSearch(FhirView):
    @extend_schema(
        operation_id="fhir_careplan_search",
        summary="The plans of one person as a FHIR R4B searchset Bundle",
        parameters=[
            OpenApiParameter(
                "patient.identifier",
                str,
                required=True,
                allow_blank=False,
                pattern=IDENTIFIER_PATTERN,
                description=(
                    f"`{PERSONNUMMER}|197001011234` (personnummer) or `{SAMORDNINGSNUMMER}|…` "
                    "(samordningsnummer)."
                ),
            ),
            OpenApiParameter(
                "status",
                str,
                enum=["draft", "active", "completed", "revoked"],
                description="Only CarePlans with this status.",
            ),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A searchset Bundle."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="An OperationOutcome."),
            401: UNAUTHORISED,
        },
    )
    def get(self, request):
        unknown = sorted(set(request.query_params) - SEARCH_PARAMETERS)
        if unknown:  # handling=strict: a parameter ignored would widen the search unseen
            return operation_outcome(
                "not-supported",
                f"Unknown search parameter: {', '.join(unknown)}.",
                status.HTTP_400_BAD_REQUEST,
            )
        raw = request.query_params.get("patient.identifier", "")
        system, _, value = raw.rpartition("|")
        if system not in IDENTIFIER_SYSTEMS or not value:
            return operation_outcome(
                "invalid",
                f"patient.identifier must be {PERSONNUMMER}|<number> or "
                f"{SAMORDNINGSNUMMER}|<number>.",
                status.HTTP_400_BAD_REQUEST,
            )
        try:
            number = parse_identity(value).number
        except DomainError:
            return operation_outcome(
                "invalid", "Not a valid identity number.", status.HTTP_400_BAD_REQUEST
            )
        wanted_status = request.query_params.get("status")
        cases = list(
            cases_visible_to(request.user)
            .filter(person__identity_number=number)
            .select_related("person")
            .order_by("pk")
        )
        if cases:
            log_list_reads(request.user, cases, WHAT)
        else:
            person = Person.objects.filter(identity_number=number).values_list("pk", flat=True)
            audit(
                request.user,
                AuditEvent.Action.READ,
                WHAT,
                person_id=person.first(),
                outcome=AuditEvent.Outcome.REFUSED,
                detail="search found no SIP this system may see",
            )
        base = reverse("fhir:careplan_search", request=request).rstrip("/").rsplit("/", 1)[0]
        entries = []
        for case in cases:
            bundle, plan_ids = _versions_of(case)
            for plan_id in plan_ids:
                resource = self_contained(bundle, plan_id)
                if wanted_status and resource["status"] != wanted_status:
                    continue
                entries.append(
                    {
                        "fullUrl": f"{base}/CarePlan/{plan_id}",
                        "resource": resource,
                        "search": {"mode": "match"},
                    }
                )
        result = {
            "resourceType": "Bundle",
            "type": "searchset",
            "timestamp": timezone.now().isoformat(),
            "total": len(entries),
            "link": [{"relation": "self", "url": request.build_absolute_uri()}],
            "entry": entries,
        }
        return Response(Bundle.model_validate(result).model_dump(mode="json"))


class Metadata(FhirView):
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        operation_id="fhir_metadata",
        summary="The server's FHIR CapabilityStatement (no sign-in needed)",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def get(self, request):
        statement = CapabilityStatement.model_validate(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "date": "2026-11-25",
                "kind": "instance",
                "fhirVersion": "4.3.0",
                "format": ["application/fhir+json"],
                "software": {"name": "Samplan"},
                "implementation": {
                    "description": "Samplan: samordnad individuell plan (SIP)",
                    "url": request.build_absolute_uri(reverse("fhir:metadata")).rsplit("/", 2)[0],
                },
                "rest": [
                    {
                        "mode": "server",
                        "security": {
                            "description": (
                                "Authorization: Bearer, a Samplan API token or an access token "
                                "of the region's OpenID Connect provider (docs/api.md)."
                            )
                        },
                        "resource": [
                            {
                                "type": "CarePlan",
                                "interaction": [{"code": "read"}, {"code": "search-type"}],
                                "searchParam": [
                                    {
                                        "name": "patient",
                                        "type": "reference",
                                        "documentation": (
                                            "Chained only: patient.identifier=system|value, with "
                                            "the personnummer or samordningsnummer OID."
                                        ),
                                    },
                                    {"name": "status", "type": "token"},
                                ],
                            }
                        ],
                    }
                ],
            }
        )
        return Response(statement.model_dump(mode="json"))
