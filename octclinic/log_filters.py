"""Logging filters that keep patient data out of the logs (issue #18 part 3).

Access-log lines carry the request line, and a query string can hold patient data (an old admin search link,
``?mrn=…`` sent to the API by a client): ``StripQueryStrings`` replaces every query string in a record's message
and arguments with ``?…``. It is attached to the dev server's access logger (``django.server``) and to the root
handler, so a line from any logger (gunicorn's too, when it logs through Django's configuration) is covered;
gunicorn's own access log format (``gunicorn.conf.py``) leaves out the query string and the referrer as well.
"""

from __future__ import annotations

import logging
import re

# "?..." up to the end of the URL: whitespace, a quote, or the end of the string.
_QUERY = re.compile(r"\?[^\s\"'<>]*")
REDACTED = "?…"


def strip_query_strings(text: str) -> str:
    return _QUERY.sub(REDACTED, text)


def _clean(value):
    if isinstance(value, str):
        return strip_query_strings(value)
    if isinstance(value, bytes):
        return strip_query_strings(value.decode("latin-1", "replace"))
    return value


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _request_summary(request) -> str:
    return f"<{type(request).__name__}: {request.method} {request.path}>"


class StripQueryStrings(logging.Filter):
    """Also cleans a record's extra attributes: ``django.request`` attaches the request, whose repr (written out by
    the JSON formatter) is the full URL. Runs on the root handler, after Django's own handlers saw the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = strip_query_strings(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_clean(value) for value in record.args)
        for name, value in list(vars(record).items()):
            if name in _STANDARD:
                continue
            if hasattr(value, "method") and hasattr(value, "path") and hasattr(value, "META"):
                setattr(record, name, _request_summary(value))
            elif isinstance(value, str | bytes):
                setattr(record, name, _clean(value))
        return True
