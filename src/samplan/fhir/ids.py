"""The ids of exported FHIR resources: a uuid5 of "Model:pk" in one fixed namespace, so the same
row has the same id in every export (and a receiver updates what it stored instead of adding).
Apart from export.py so that the models can store a CarePlan's id for the API's read by id."""

from __future__ import annotations

import uuid

# Fixed for ever: changing it would give every exported resource a new identity.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:samplan:fhir")


def resource_uuid(model: str, pk) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{model}:{pk}")


def resource_id(model: str, pk) -> str:
    """The resource's id: the same for the same row in every export."""
    return str(resource_uuid(model, pk))
