"""Request parsers of the API: DRF's, with limits that hold for every endpoint.

* **Body size.** JSON and urlencoded bodies above ``API_MAX_BODY_BYTES`` (default 1 MiB) are refused with a 413
  before they are read in full (DRF's parsers read whatever they are sent). Multipart uploads keep Django's
  limits (``DATA_UPLOAD_MAX_NUMBER_FILES``, ``DATA_UPLOAD_MAX_MEMORY_SIZE`` for the non-file fields) and the
  scan intake's per-file limits.
* **Nesting.** JSON nested deeper than ``API_MAX_JSON_DEPTH`` (default 32) is a 400: the standard library's
  decoder recurses per level, so 50,000 levels used to end in a ``RecursionError`` (a 500).
* **Field counts.** Too many urlencoded fields or multipart files raise Django's ``TooManyFieldsSent`` /
  ``TooManyFilesSent``; ``octclinic.api_errors`` answers them with a 400 in the API's error shape.
"""

from __future__ import annotations

import codecs

from django.conf import settings
from django.http import QueryDict
from rest_framework import exceptions, parsers, status
from rest_framework.utils import json

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_JSON_DEPTH = 32


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


def max_body_bytes() -> int:
    return int(getattr(settings, "API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


def max_json_depth() -> int:
    return int(getattr(settings, "API_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH))


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"The request body is larger than {limit} bytes.")


def read_limited(stream, parser_context) -> bytes:
    """The body, refused with a 413 when its declared or actual length is over the limit (never read past it)."""
    limit = max_body_bytes()
    request = (parser_context or {}).get("request")
    meta = getattr(request, "META", {}) if request is not None else {}
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        declared = 0
    if declared > limit:
        raise _too_large(limit)
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise _too_large(limit)
    return body


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether ``value`` nests lists/objects deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        body = read_limited(stream, parser_context)
        try:
            text = codecs.decode(body, encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:
            raise exceptions.ParseError(f"JSON nested deeper than {max_json_depth()} levels.") from exc
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if json_depth_exceeds(data, max_json_depth()):
            raise exceptions.ParseError(f"JSON nested deeper than {max_json_depth()} levels.")
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        return QueryDict(read_limited(stream, parser_context), encoding=encoding)


class MultiPartParser(parsers.MultiPartParser):
    """DRF's; Django's multipart parser enforces the file and field counts (answered as 400s)."""
