"""Sections that apps above mlcore add to the models page and the model cards.

mlcore knows images, labels and models, never patients or clinic workflow; what doctors made of a version's
readings (agreement per OCT device, say) is known to ``scans``. So, as ``patients.timeline`` does, mlcore owns
this small registry and ``scans`` registers into it at start-up: no import points upward.

A section is a function ``(request, versions) -> HTML`` (already rendered and escaped, e.g. by
``render_to_string``); ``versions`` are the version strings the page shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

Section = Callable[[HttpRequest, Sequence[str]], str]
_sections: dict[str, Section] = {}


def model_page_section_register(*, name: str, render: Section) -> None:
    _sections[name] = render


def model_page_sections(*, request: HttpRequest, versions: Sequence[str]) -> list[SafeString]:
    return [mark_safe(render(request, list(versions))) for _name, render in sorted(_sections.items())]  # noqa: S308
