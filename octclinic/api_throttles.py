"""Rate limits per API client: a token is its own client, a browser session is its user.

Requests without valid credentials are limited per address, before anything else is done with them (DRF would
otherwise answer their 401 before any throttle ran, so they were never limited):

* no credentials: ``API_ANON_THROTTLE_RATE`` per address (``AnonymousThrottleAuthentication``, the last
  authentication class, so only requests nobody authenticated count);
* a wrong, expired or revoked token: ``API_BAD_TOKEN_THROTTLE_RATE`` failures per address; over it, every
  ``Bearer`` request from that address is refused with 429 before its token is even looked up, so tokens
  can't be guessed at speed.

The counters live in Django's cache (Redis when configured, shared by all web processes). A rate limit
protects the clinic's service; it must not become the thing that takes it down, so when the cache can't be
reached the request is let through and a warning (at most one a minute) says that limits are not applied.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework import authentication, exceptions
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
        elif getattr(request._request, ANON_COUNTED, False):
            return True  # counted by AnonymousThrottleAuthentication already
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


ANON_COUNTED = "_octclinic_anonymous_throttled"


class _AddressThrottle(SimpleRateThrottle):
    """A per-address counter whose rate is read from settings per request; fails open like the client throttle."""

    setting_name = ""
    default_rate = ""

    def __init__(self):
        self.rate = getattr(settings, self.setting_name, self.default_rate) or None
        if self.rate:
            self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _history(self, request) -> list[float] | None:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        try:
            history = self.cache.get(self.key, [])
        except (RedisError, OSError) as exc:
            _warn_unlimited(exc)
            return None
        while history and history[-1] <= self.now - self.duration:
            history.pop()
        self.history = history
        return history

    def over_limit(self, request) -> bool:
        """Whether this address has used up its budget (nothing is counted)."""
        if not self.rate:
            return False
        history = self._history(request)
        return history is not None and len(history) >= self.num_requests

    def record(self, request) -> None:
        if not self.rate:
            return
        history = self._history(request)
        if history is None:
            return
        history.insert(0, self.now)
        try:
            self.cache.set(self.key, history, self.duration)
        except (RedisError, OSError) as exc:
            _warn_unlimited(exc)

    def throttled(self) -> exceptions.Throttled:
        return exceptions.Throttled(wait=self.wait())


class AnonymousAddressThrottle(_AddressThrottle):
    scope = "api_anonymous"
    setting_name = "API_ANON_THROTTLE_RATE"


class BadTokenAddressThrottle(_AddressThrottle):
    scope = "api_bad_token"
    setting_name = "API_BAD_TOKEN_THROTTLE_RATE"


class AnonymousThrottleAuthentication(authentication.BaseAuthentication):
    """Last of the authentication classes: reached only by requests no other class authenticated.

    Counts them per address and answers 429 over ``API_ANON_THROTTLE_RATE``, before permissions answer 401.
    Authenticates nobody.
    """

    def authenticate(self, request):
        throttle = AnonymousAddressThrottle()
        if throttle.over_limit(request):
            raise throttle.throttled()
        throttle.record(request)
        setattr(request._request, ANON_COUNTED, True)
        return None


def _warn_unlimited(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if _last_warning is None or now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("API rate limits not applied: the cache is unreachable (%s)", type(exc).__name__)
