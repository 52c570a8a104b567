"""Prometheus metrics: request metrics from django-prometheus plus clinic figures read at scrape time.

Figures that live in the database (queue depth, readings by label and model version, review
turnaround) are computed when Prometheus scrapes, so every web process reports the same truth and no
multi-process bookkeeping is needed. Other apps contribute their figures by registering a collector
function with ``metric_source_register``; no patient data is ever exported, only counts.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

MetricSource = Callable[[], Iterable[Metric]]
_sources: dict[str, MetricSource] = {}


def metric_source_register(*, name: str, source: MetricSource) -> None:
    _sources[name] = source


class ClinicCollector(Collector):
    def collect(self):
        for source in list(_sources.values()):
            yield from source()


REGISTRY.register(ClinicCollector())


def _authorised(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        return not settings.PRODUCTION
    header = request.headers.get("Authorization", "")
    return hmac.compare_digest(header, f"Bearer {token}")


@never_cache
@require_GET
def metrics_view(request):
    if not _authorised(request):
        return HttpResponse("metrics need a bearer token\n", status=401, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
