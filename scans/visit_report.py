"""The printable visit report: one patient, one eye, one visit day, as a PDF (fpdf2, pure Python).

A visit is every scan of that eye acquired on one day (the latest, unless a day is given). Images are read
through the checksum-verifying storage helpers, like every other scan file; a missing or corrupt image is
left out with a line saying so instead of failing the whole report.
"""

from __future__ import annotations

import datetime as dt
import io

from django.utils import timezone
from fpdf import FPDF

from patients.models import Patient

from .errors import IntegrityError
from .heatmaps import heatmap_is_layer, heatmap_shown
from .models import Scan
from .review_selectors import scan_prediction_for_review, scan_reviews
from .selectors import prediction_heatmap_open, predictions_with_provenance, scan_file_open, scan_frame_png


def _latin1(text: str) -> str:
    """The PDF core fonts are Latin-1; dashes print as '-', anything else as '?' rather than failing the report."""
    return str(text).replace("—", "-").replace("–", "-").encode("latin-1", "replace").decode("latin-1")


def visit_scans(*, patient: Patient, eye: str, day: dt.date | None = None) -> tuple[dt.date | None, list[Scan]]:
    scans = Scan.objects.filter(patient=patient, eye=eye)
    if day is None:
        latest = scans.order_by("-acquired_on").values_list("acquired_on", flat=True).first()
        if latest is None:
            return None, []
        day = latest
    return day, list(scans.filter(acquired_on=day).order_by("uploaded_at", "pk"))


def _scan_image(scan: Scan, prediction) -> bytes | None:
    try:
        if scan.is_volume and prediction is not None:
            return scan_frame_png(scan=scan, index=prediction.frame)
        return scan_file_open(scan=scan, kind="preview").handle.read()
    except (FileNotFoundError, IntegrityError, IndexError):
        return None


def _heatmap(prediction, image: bytes | None) -> bytes | None:
    """The heatmap as one printable picture: a stored layer is laid over the scan (alone it is colour on nothing).

    None where the pages show none (``heatmap_shown``): a deferred reading's map would print the very suggestion
    the deferral withholds, and an unrecognised image has no class to explain.
    """
    if not heatmap_shown(prediction):
        return None
    try:
        stored = prediction_heatmap_open(prediction=prediction).read()
    except (FileNotFoundError, IntegrityError):
        return None
    if not heatmap_is_layer(prediction):
        return stored
    if image is None:
        return None
    from mlcore.gradcam import heatmap_layer_over_png

    return heatmap_layer_over_png(image=image, layer=stored)


def _reading_lines(prediction) -> list[tuple[str, bool]]:
    """The AI's part of the report. A deferred reading prints no label or probabilities (it is read without the
    AI's suggestion), a refused image says it was not recognised; every reading names its model, a synthetic or
    non-clinical one in so many words (bold), and an evaluated one with its headline figures."""
    if prediction.suggests:
        probabilities = ", ".join(f"{k} {v:.3f}" for k, v in prediction.probabilities.items())
        lines = [
            f"AI reading: {prediction.label} (confidence {prediction.confidence:.2f}, "
            f"uncertainty {prediction.uncertainty:.2f}, urgency {prediction.urgency})",
            f"Probabilities: {probabilities}",
        ]
    else:
        lines = [f"AI reading: {prediction.outcome_text}"]
    provenance = prediction.provenance
    lines += [f"Model version: {provenance['version']}", f"Model evaluation: {provenance['headline_text']}"]
    return [(line, False) for line in lines] + (
        [(f"Model: {provenance['notice']}", True)] if provenance["notice"] else []
    )


def visit_report_pdf(*, patient: Patient, eye: str, day: dt.date | None = None, clinic_name: str = "") -> bytes:
    day, scans = visit_scans(patient=patient, eye=eye, day=day)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(f"{clinic_name} - OCT visit report".strip(" -")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    lines = [
        f"Patient: {patient.full_name}   MRN: {patient.mrn}   Born: {patient.date_of_birth:%d.%m.%Y}",
        f"Eye: {eye}   Visit: {day:%d.%m.%Y}" if day else f"Eye: {eye}   No scans of this eye.",
        f"Printed: {timezone.localtime():%d.%m.%Y %H:%M}",
    ]
    for line in lines:
        pdf.cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    for scan in scans:
        prediction = scan_prediction_for_review(scan=scan)
        predictions_with_provenance([prediction])
        reviews = scan_reviews(scan=scan)
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, _latin1(f"Scan #{scan.pk} ({scan.get_file_format_display()})"), new_x="LMARGIN", new_y="NEXT")
        y = pdf.get_y()
        image = _scan_image(scan, prediction)
        heatmap = _heatmap(prediction, image)
        if pdf.get_y() + 70 > pdf.h - 15:
            pdf.add_page()
            y = pdf.get_y()
        if image:
            pdf.image(io.BytesIO(image), x=pdf.l_margin, y=y, h=60, keep_aspect_ratio=True, w=88)
        if heatmap:
            pdf.image(io.BytesIO(heatmap), x=pdf.l_margin + 92, y=y, h=60, keep_aspect_ratio=True, w=88)
        if image or heatmap:
            pdf.set_y(y + 62)
        pdf.set_font("Helvetica", size=10)
        if not image:
            pdf.cell(0, 6, "Image not available.", new_x="LMARGIN", new_y="NEXT")
        if prediction is None:
            pdf.cell(0, 6, _latin1(f"AI reading: {scan.get_ai_status_display()}"), new_x="LMARGIN", new_y="NEXT")
        else:
            for line, bold in _reading_lines(prediction):
                pdf.set_font("Helvetica", "B" if bold else "", 10)
                pdf.multi_cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=10)
        if not reviews:
            pdf.cell(0, 6, "Doctor's decision: not yet reviewed.", new_x="LMARGIN", new_y="NEXT")
        for review in reviews:
            who = review.reviewer.get_full_name() or review.reviewer.get_username()
            kind = "Second opinion" if review.is_second_opinion else "Doctor's decision"
            text = f"{kind}: {review.decision_display}"
            if review.label:
                text += f" - {review.label}"
            text += f" by {who}, {timezone.localtime(review.created_at):%d.%m.%Y %H:%M}"
            pdf.multi_cell(0, 6, _latin1(text), new_x="LMARGIN", new_y="NEXT")
            if review.note:
                pdf.multi_cell(0, 6, _latin1(f"Note: {review.note}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
