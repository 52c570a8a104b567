"""Server-rendered SVG charts for the dashboards: no chart library, no CDN, no script (the CSP allows none).

Labels are escaped; the SVG is inline in the page, so it prints and screenshots like the rest of it.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f")


def bar_chart_svg(
    data: list[tuple[str, float]], *, title: str, width: int = 560, height: int = 220, colour: str = PALETTE[0]
) -> SafeString:
    left, bottom, top = 36, 40, 16
    inner_w, inner_h = width - left - 8, height - bottom - top
    peak = max((value for _, value in data), default=0) or 1
    step = inner_w / max(len(data), 1)
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{width - 8}" y2="{top + inner_h}" stroke="#90a4ae"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{peak:g}</text>',
    ]
    for i, (label, value) in enumerate(data):
        h = inner_h * value / peak
        x = left + i * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + inner_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{escape(label)}: {value:g}</title></rect>"
        )
        if value:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{top + inner_h - h - 3:.1f}" text-anchor="middle" '
                f'font-size="10">{value:g}</text>'
            )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label is escaped above


def line_chart_svg(
    series: dict[str, list[float | None]],
    *,
    labels: list[str],
    title: str,
    width: int = 560,
    height: int = 240,
    y_max: float = 1.0,
    threshold: float | None = None,
) -> SafeString:
    """One line per series over shared x labels; None leaves a gap (a week without decisions)."""
    left, bottom, top = 36, 56, 16
    inner_w, inner_h = width - left - 8, height - bottom - top
    step = inner_w / max(len(labels) - 1, 1)

    def y(value: float) -> float:
        return top + inner_h * (1 - value / y_max)

    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{width - 8}" y2="{top + inner_h}" stroke="#90a4ae"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{y_max:.0%}</text>',
        f'<text x="{left - 4}" y="{top + inner_h}" text-anchor="end" font-size="10">0%</text>',
    ]
    if threshold is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(threshold):.1f}" x2="{width - 8}" y2="{y(threshold):.1f}" '
            f'stroke="#c62828" stroke-dasharray="4 3"><title>drift threshold {threshold:.0%}</title></line>'
        )
    for i, label in enumerate(labels):
        if i % max(1, len(labels) // 6) == 0:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{top + inner_h + 14}" text-anchor="middle" font-size="10">'
                f"{escape(label)}</text>"
            )
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        points = [(left + i * step, y(v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
        parts.append(
            f'<text x="{left + 4 + 120 * n}" y="{height - 8}" font-size="11" fill="{colour}">■ {escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label is escaped above
