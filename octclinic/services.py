"""Actions on API tokens and idempotency records (the REST API's own state)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import ApiToken, IdempotencyRecord
from .token_lookup import token_with_user

TOKEN_PREFIX = "oct_"  # noqa: S105 - a public marker, not a secret


def api_token_hash(raw: str) -> str:
    """sha256 is enough here: the secret has 256 bits of entropy, so there is nothing to brute-force."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once, never stored


@transaction.atomic
def api_token_create(*, user, name: str = "", expires_at: dt.datetime | None = None) -> IssuedToken:
    if expires_at is not None and timezone.is_naive(expires_at):
        raise ValueError("expires_at must be timezone-aware")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 8],
        key_hash=api_token_hash(raw),
        expires_at=expires_at,
    )
    return IssuedToken(token=token, raw=raw)


def api_token_revoke(*, token: ApiToken, now: dt.datetime | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str, now: dt.datetime | None = None) -> ApiToken | None:
    """The live token for this secret, or None (unknown, revoked, expired, or its user deactivated).

    ``last_used_at`` is written at most once a minute per token so busy clients don't turn every read
    into a write.
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    now = now or timezone.now()
    token = token_with_user(key_hash=api_token_hash(raw))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    granularity = dt.timedelta(seconds=getattr(settings, "API_TOKEN_LAST_USED_GRANULARITY_SECONDS", 60))
    if token.last_used_at is None or now - token.last_used_at >= granularity:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- Idempotency -------------------------------------------------------------------------------------


class IdempotencyConflict(Exception):
    """The key is in use: by a request still running, or by a different request."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: dict
    replayed: bool


def idempotent_call(
    *, user, scope: str, key: str, fingerprint: str, produce: Callable[[], tuple[int, dict]]
) -> IdempotentResult:
    """Run ``produce`` once per (user, scope, key); a retry gets the first answer back.

    The record is claimed before the work starts, so two concurrent retries can't both do it. If the
    work raises, the claim is released so the client may try again with the same key.
    """
    existing = IdempotencyRecord.objects.filter(user=user, scope=scope, key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = IdempotencyRecord.objects.create(user=user, scope=scope, key=key, fingerprint=fingerprint)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=user, scope=scope, key=key).first()
            if existing is None:  # released meanwhile by a failed first attempt
                raise IdempotencyConflict(
                    "A request with this Idempotency-Key is still being processed; retry shortly.", code="in_progress"
                ) from None
        else:
            try:
                status, body = produce()
            except BaseException:
                existing.delete()
                raise
            existing.response_status, existing.response_body = status, body
            existing.save(update_fields=["response_status", "response_body"])
            return IdempotentResult(status=status, body=body, replayed=False)
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different request; use a new key.", code="key_reused"
        )
    if existing.response_status is None:
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.", code="in_progress"
        )
    return IdempotentResult(status=existing.response_status, body=existing.response_body, replayed=True)
