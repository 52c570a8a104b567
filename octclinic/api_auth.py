"""`Authorization: Bearer <token>` for integration clients; the browser keeps its session."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .api_throttles import BadTokenAddressThrottle
from .services import api_token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Looks the token up by its hash. A wrong or revoked token is a 401, never a silent anonymous.

    Failures count per address (``API_BAD_TOKEN_THROTTLE_RATE``); an address over it gets 429 for every token
    it sends, before the lookup, so guessing can't go faster than the rate.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        guard = BadTokenAddressThrottle()
        if guard.over_limit(request):
            raise guard.throttled()
        if len(header) != 2:
            guard.record(request)
            raise exceptions.AuthenticationFailed("Send the header as `Authorization: Bearer <token>`.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError as exc:
            guard.record(request)
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        token = api_token_authenticate(raw=raw)
        if token is None:
            guard.record(request)
            raise exceptions.AuthenticationFailed("The token is not valid, has expired or was revoked.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated requests.
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "octclinic.api_auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `manage.py create_api_token USERNAME` (or the admin).",
        }


class AnonymousThrottleScheme(OpenApiAuthenticationExtension):
    """The anonymous throttle authenticates nobody: it adds no security scheme to the schema."""

    target_class = "octclinic.api_throttles.AnonymousThrottleAuthentication"
    name: list = []

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []
