"""`<id:…>` in addresses: a row's id, as `<id:…>` but at most 18 digits, so an id no database
column can hold is a 404 like any unknown id, not a server error (a BIGINT holds 19 digits;
SQLite refused a larger one with an OverflowError that schemathesis found, tests/test_api_*).
Registered by DirectoryConfig.ready, before any address is built."""

from __future__ import annotations

from django.urls import register_converter
from django.urls.converters import IntConverter


class IdConverter(IntConverter):
    regex = "[0-9]{1,18}"


def register() -> None:
    register_converter(IdConverter, "id")
