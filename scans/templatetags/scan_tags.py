"""Template tags other apps use to show scans: ``{% load scan_tags %}{% patient_scan_gallery patient %}``."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from scans import heatmaps
from scans.access import patient_scans_allowed
from scans.review_selectors import decision_text, scans_with_decision
from scans.selectors import patient_scans_list

register = template.Library()


@register.inclusion_tag("scans/partials/gallery.html", takes_context=True)
def patient_scan_gallery(context, patient, appointment=None):
    """Thumbnails with eye, date and AI status; nothing (not even a count) without permission."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    allowed = patient_scans_allowed(user=user, patient=patient)
    scans = list(scans_with_decision(patient_scans_list(patient=patient))) if allowed else []
    for scan in scans:
        scan.decision_text = decision_text(scan)
    return {
        "patient": patient,
        "scans": scans,
        "allowed": allowed,
        "can_add": allowed and patient_scans_allowed(user=user, patient=patient, action="add"),
        "upload_url": scan_upload_url(patient=patient, appointment=appointment),
        "eyes": sorted({s.eye for s in scans}),
        "eyes_with_two": sorted({s.eye for s in scans if sum(1 for t in scans if t.eye == s.eye) > 1}),
    }


@register.simple_tag
def scan_upload_url(patient=None, appointment=None) -> str:
    """``scans:upload`` with ``?appointment=<pk>`` (patient implied) or ``?patient=<pk>``."""
    if appointment is not None:
        query = {"appointment": getattr(appointment, "pk", appointment)}
    else:
        query = {"patient": getattr(patient, "pk", patient)}
    return f"{reverse('scans:upload')}?{urlencode(query)}"


@register.filter
def heatmap_is_layer(prediction) -> bool:
    """True when the reading's heatmap is a transparent layer to lay over the scan (see ``scans.heatmaps``)."""
    return hasattr(prediction, "heatmap") and heatmaps.heatmap_is_layer(prediction)


@register.filter
def heatmap_shown(prediction) -> bool:
    """True when the pages may show the reading's heatmap: not for a deferred or unrecognised reading
    (``scans.heatmaps.heatmap_shown`` says why)."""
    return hasattr(prediction, "heatmap") and heatmaps.heatmap_shown(prediction)
