"""The one place that puts a service's ``ValidationError`` onto a form.

Services raise ``ValidationError({"field": [...]})`` keyed by their own argument names (``start``, ``colleague``,
``patient``...) or a plain ``ValidationError("...")``. Pages and the admin show them on the form: a keyed error on
the form field of that name (or the one ``fields`` maps it to), anything else — an unknown key, a message
without a key — above the form. Every view, form and admin page calls this instead of copying the loop.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def form_service_errors_add(
    form: forms.BaseForm, error: ValidationError, *, fields: Mapping[str, str] | None = None
) -> None:
    fields = fields or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        target = fields.get(name, name)
        if name == NON_FIELD_ERRORS or target not in form.fields:
            target = None
        form.add_error(target, messages)
