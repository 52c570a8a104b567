"""Audit-log actor for API requests.

The audit middleware takes the actor from the session before DRF has authenticated a bearer token, so API
changes would be logged without a user. This mixin names the token's user once DRF knows it.
"""

from __future__ import annotations

from .audit_actor import audit_actor


class AuditActorMixin:
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.user and request.user.is_authenticated:
            self._audit_actor = audit_actor(request.user, remote_addr=request.META.get("REMOTE_ADDR"))
            self._audit_actor.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        actor = getattr(self, "_audit_actor", None)
        if actor is not None:
            self._audit_actor = None
            actor.__exit__(None, None, None)
        return super().finalize_response(request, response, *args, **kwargs)
