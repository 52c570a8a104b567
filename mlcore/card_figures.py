"""What the model card page draws from a card's deferral, calibration, OOD and cross-validation sections.

The card is JSON written once by training; older cards lack these sections, and a key that is missing or not
the expected shape is left out rather than failing the page. The risk–coverage curve is inline SVG (no chart
library, no CDN, no script: the CSP allows none), so it prints with the page.
"""

from __future__ import annotations

from numbers import Real

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _number(value) -> float | None:
    return float(value) if isinstance(value, Real) and not isinstance(value, bool) else None


def _section(card, name: str) -> dict:
    value = (card or {}).get(name) if isinstance(card, dict) else None
    return value if isinstance(value, dict) else {}


def risk_coverage_points(card) -> list[dict]:
    """The card's ``deferral.risk_coverage`` as ``{coverage, accuracy, threshold}`` floats, by coverage; points
    with a missing figure are dropped."""
    raw = _section(card, "deferral").get("risk_coverage")
    points = []
    for point in raw if isinstance(raw, list) else []:
        if not isinstance(point, dict):
            continue
        coverage, accuracy = _number(point.get("coverage")), _number(point.get("accuracy"))
        if coverage is None or accuracy is None:
            continue
        points.append({"coverage": coverage, "accuracy": accuracy, "threshold": _number(point.get("threshold"))})
    return sorted(points, key=lambda p: p["coverage"])


def risk_coverage_svg(
    points: list[dict],
    *,
    chosen_coverage: float | None = None,
    target_accuracy: float | None = None,
    width: int = 560,
    height: int = 260,
) -> SafeString:
    """Accuracy of the readings the model keeps (y) against the share it keeps (x, coverage): how much accuracy
    deferring the unsure ones buys. The deployed threshold's coverage and the target accuracy are dashed lines."""
    left, right, top, bottom = 44, 12, 14, 40
    inner_w, inner_h = width - left - right, height - top - bottom
    floor = min([p["accuracy"] for p in points] + ([target_accuracy] if target_accuracy is not None else []))
    y_min = max(0.0, min(floor, 1.0) - 0.05)
    y_min = int(y_min * 10) / 10  # a round axis start: 0.6, 0.7, ...

    def x(value: float) -> float:
        return left + inner_w * min(max(value, 0.0), 1.0)

    def y(value: float) -> float:
        return top + inner_h * (1 - (min(max(value, y_min), 1.0) - y_min) / ((1.0 - y_min) or 1.0))

    title = "Risk-coverage: accuracy of the readings kept against the share kept"
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" data-risk-coverage><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{width - right}" y2="{top + inner_h}" stroke="#90a4ae"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" stroke="#90a4ae"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{top + inner_h + 14}" text-anchor="middle" font-size="10">{tick:.0%}</text>'
        )
    for tick in (y_min, (y_min + 1.0) / 2, 1.0):
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 3:.1f}" text-anchor="end" font-size="10">{tick:.0%}</text>')
    parts.append(
        f'<text x="{left + inner_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="10">'
        "coverage (share of readings the AI suggests a label for)</text>"
    )
    middle = top + inner_h / 2
    parts.append(
        f'<text x="10" y="{middle:.1f}" transform="rotate(-90 10 {middle:.1f})" text-anchor="middle" '
        'font-size="10">accuracy of the readings kept</text>'
    )
    if target_accuracy is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(target_accuracy):.1f}" x2="{width - right}" y2="{y(target_accuracy):.1f}" '
            f'stroke="#2e7d32" stroke-dasharray="4 3"><title>target accuracy {target_accuracy:.1%}</title></line>'
        )
    if chosen_coverage is not None:
        parts.append(
            f'<line x1="{x(chosen_coverage):.1f}" y1="{top}" x2="{x(chosen_coverage):.1f}" y2="{top + inner_h}" '
            f'stroke="#c62828" stroke-dasharray="4 3"><title>coverage at the deployed threshold '
            f"{chosen_coverage:.1%}</title></line>"
        )
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{x(p['coverage']):.1f},{y(p['accuracy']):.1f}" for i, p in enumerate(points)
    )
    if path:
        parts.append(f'<path d="{path}" fill="none" stroke="#1565c0" stroke-width="2"/>')
    for p in points:
        threshold = "" if p["threshold"] is None else f", threshold {p['threshold']:.3f}"
        parts.append(
            f'<circle cx="{x(p["coverage"]):.1f}" cy="{y(p["accuracy"]):.1f}" r="3" fill="#1565c0">'
            f"<title>coverage {p['coverage']:.1%}, accuracy {p['accuracy']:.1%}{threshold}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - only numbers and the escaped title are interpolated


OOD_TEXT_KEYS = ("text", "description", "summary", "method")


def _ood(ood: dict) -> dict:
    """The non-OCT detector's version, its description, and its other plain figures (thresholds and the like)."""
    text = next((str(ood[key]) for key in OOD_TEXT_KEYS if isinstance(ood.get(key), str) and ood[key]), "")
    facts = [
        (str(key), value)
        for key, value in ood.items()
        if key not in ("version", *OOD_TEXT_KEYS) and isinstance(value, str | int | float | bool)
    ][:8]
    return {"version": str(ood.get("version") or ""), "text": text[:500], "facts": facts}


def card_sections(card) -> dict:
    """The card page's context for the sections newer cards carry; each is empty/None when the card lacks it."""
    deferral = _section(card, "deferral")
    points = risk_coverage_points(card)
    calibration = _section(card, "calibration")
    ood = _section(card, "ood")
    headline = _section(_section(card, "cross_validation"), "headline")
    deferral_facts = {
        key: _number(deferral.get(key)) for key in ("threshold", "target_accuracy", "validation_coverage")
    }
    return {
        "deferral": deferral_facts if any(v is not None for v in deferral_facts.values()) or points else None,
        "risk_coverage": points,
        "risk_coverage_svg": (
            risk_coverage_svg(
                points,
                chosen_coverage=deferral_facts["validation_coverage"],
                target_accuracy=deferral_facts["target_accuracy"],
            )
            if points
            else ""
        ),
        "calibration": (
            {key: _number(calibration.get(key)) for key in ("temperature", "ece_before", "ece_after")}
            if calibration
            else None
        ),
        "ood": _ood(ood) if ood else None,
        "cross_validation": (
            {
                key: (_number(headline.get(key)) if key not in ("n", "folds") else headline.get(key))
                for key in ("accuracy", "urgent_sensitivity", "urgent_specificity", "n", "folds")
            }
            if headline
            else None
        ),
    }
