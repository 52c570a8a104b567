"""The API's JSON renderer gives the same JSON as DRF's for what views answer (dates in DRF's format,
decimals, UUIDs, lazy and error strings, integer keys), escapes the two JavaScript line separators as DRF
does, and leaves indented output to DRF."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail

from octclinic.api_renderers import JSONRenderer

PAYLOAD = {
    "when": dt.datetime(2030, 1, 7, 8, 0, 0, 123456, tzinfo=dt.UTC),
    "day": dt.date(2030, 1, 7),
    "opens": dt.time(8, 30),
    "dose": decimal.Decimal("1.25"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "lazy": gettext_lazy("This field is required."),
    "error": ErrorDetail("Bad input", code="invalid"),
    "counts": {1: "one", 2: "two"},
    "nested": [{"ok": True, "none": None, "ratio": 0.1}, ("a", "b")],
    "text": "Müller – naïve ✓",
}


def test_same_json_as_drf():
    ours = JSONRenderer().render(PAYLOAD)
    drf = renderers.JSONRenderer().render(PAYLOAD)
    assert json.loads(ours) == json.loads(drf)
    assert b'"when":"2030-01-07T08:00:00.123456Z"' in ours  # DRF's encoder formats times, not orjson's


def test_line_separators_are_escaped_like_drf():
    data = {"note": "line\u2028break\u2029end"}
    ours = JSONRenderer().render(data)
    assert ours == renderers.JSONRenderer().render(data)
    assert b"\\u2028" in ours and "\u2028".encode() not in ours


def test_indented_output_and_empty_bodies_take_drf_path():
    context = {"indent": 2}
    assert JSONRenderer().render(PAYLOAD, renderer_context=context) == renderers.JSONRenderer().render(
        PAYLOAD, renderer_context=context
    )
    assert JSONRenderer().render(None) == b""


def test_what_orjson_refuses_falls_back():
    big = {"n": 2**70}  # beyond 64 bits: orjson refuses, the standard library writes it
    assert JSONRenderer().render(big) == renderers.JSONRenderer().render(big)
