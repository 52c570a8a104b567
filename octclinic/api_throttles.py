"""Rate limits per API client: a token is its own client, a browser session is its user.

The counters live in Django's cache (Redis when configured, shared by all web processes). A rate limit
protects the clinic's service; it must not become the thing that takes it down, so when the cache can't be
reached the request is let through and a warning (at most one a minute) says that limits are not applied.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken

logger = logging.getLogger(__name__)
_WARN_EVERY_SECONDS = 60
_last_warning: float | None = None


class ApiClientThrottle(SimpleRateThrottle):
    """Read from settings at request time (not import time), so a deployment or a test can change it."""

    scope = "api_client"
    setting_name = "API_THROTTLE_RATE"
    default_rate = "1200/min"
    anonymous_setting_name = "API_ANON_THROTTLE_RATE"
    anonymous_default_rate = "60/min"

    def __init__(self):  # the rate is looked up per request in allow_request
        self.rate = None

    def allow_request(self, request, view):
        authenticated = bool(request.user and request.user.is_authenticated)
        if authenticated:
            rate = getattr(settings, self.setting_name, self.default_rate)
        else:
            rate = getattr(settings, self.anonymous_setting_name, self.anonymous_default_rate)
        self.rate = rate or None
        if not rate:
            return True
        self.num_requests, self.duration = self.parse_rate(rate)
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            _warn_unlimited(exc)
            return True

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _warn_unlimited(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if _last_warning is None or now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("API rate limits not applied: the cache is unreachable (%s)", type(exc).__name__)
