"""Who did it, for django-auditlog's entries: one receiver connected once, the actor in a context variable.

django-auditlog's ``set_actor`` connects a fresh ``pre_save`` receiver around every request and disconnects
it afterwards. Django keeps receivers in a list that each connect and disconnect scans (there are hundreds:
auditlog registers every audited model) and whose send cache each one empties; on the API's list endpoints
that churn cost more than serialising a page. Here the receiver is connected once (``OctclinicConfig.ready``)
and each request, task or DICOM association only sets a context variable, so nesting (the API's token user
inside the middleware's anonymous session) resolves to the innermost actor and unwinds cleanly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from auditlog.cid import set_cid
from auditlog.middleware import AuditlogMiddleware
from django.contrib.auth import get_user_model


@dataclass(frozen=True)
class _Actor:
    user: object | None
    remote_addr: str | None
    remote_port: int | None


_current: ContextVar[_Actor | None] = ContextVar("octclinic_audit_actor", default=None)


@contextmanager
def audit_actor(user, *, remote_addr: str | None = None, remote_port: int | None = None) -> Iterator[None]:
    """Entries written inside name ``user`` (when it is a signed-in account) and where the request came from."""
    is_account = isinstance(user, get_user_model()) and user.is_authenticated
    token = _current.set(_Actor(user if is_account else None, remote_addr, remote_port))
    try:
        yield
    finally:
        _current.reset(token)


def log_entry_actor_fill(sender, instance, **kwargs) -> None:
    """``pre_save`` receiver for ``LogEntry``: what auditlog's per-request receiver filled, from the context."""
    actor = _current.get()
    if actor is None:
        return
    if actor.user is not None and instance.actor_id is None:
        instance.actor = actor.user
        instance.actor_email = getattr(actor.user, "email", None)
    instance.remote_addr = actor.remote_addr
    instance.remote_port = actor.remote_port


class AuditActorMiddleware(AuditlogMiddleware):
    """auditlog's middleware (same remote address, port and correlation id), with the context variable."""

    def __call__(self, request):
        set_cid(request)
        with audit_actor(
            self._get_actor(request),
            remote_addr=self._get_remote_addr(request),
            remote_port=self._get_remote_port(request),
        ):
            return self.get_response(request)
