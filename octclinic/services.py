"""Actions on API tokens and idempotency records (the REST API's own state)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import ApiToken, IdempotencyRecord
from .token_lookup import token_with_user

logger = logging.getLogger(__name__)
TOKEN_PREFIX = "oct_"  # noqa: S105 - a public marker, not a secret


def api_token_hash(raw: str) -> str:
    """sha256 is enough here: the secret has 256 bits of entropy, so there is nothing to brute-force."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once, never stored


class TokenForAnotherUser(PermissionDenied):
    """Only the user (or a superuser, on the record and with the user told) issues a token acting as them."""


@transaction.atomic
def api_token_create(*, user, name: str = "", expires_at: dt.datetime | None = None, issued_by=None) -> IssuedToken:
    """A new token acting as ``user``.

    ``issued_by`` is the staff member issuing it in the application (None: the operator's management command).
    Anyone may issue their own; for another user only a superuser may, and then the issue is in the audit trail
    (the token's create entry names the superuser) and the user is told by email. A clinic admin who issued a token
    for a doctor could act as that doctor, with every action attributed to the doctor.
    """
    if expires_at is not None and timezone.is_naive(expires_at):
        raise ValueError("expires_at must be timezone-aware")
    for_another = issued_by is not None and issued_by.pk != user.pk
    if for_another and not issued_by.is_superuser:
        raise TokenForAnotherUser("Only the user themselves (or a superuser) may create a token acting as them.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 8],
        key_hash=api_token_hash(raw),
        expires_at=expires_at,
    )
    if for_another:
        transaction.on_commit(lambda: _token_issued_notify(token=token, issued_by=issued_by))
    return IssuedToken(token=token, raw=raw)


def _token_issued_notify(*, token: ApiToken, issued_by) -> None:
    """Tell the user a token acting as them was issued by someone else (no secret in the mail)."""
    if not token.user.email:
        logger.warning(
            "API token %s issued for user %s by user %s: no email address to tell them",
            token.pk,
            token.user.pk,
            issued_by.pk,
        )
        return
    send_mail(
        subject=f"{settings.CLINIC_NAME}: an API token acting as you was issued",
        message=(
            f"An administrator ({issued_by.get_username()}) issued the API token {token.prefix}… "
            f'("{token.name or "unnamed"}") that acts as your account. Anything done with it is recorded as '
            "done by you. If you did not ask for it, tell your clinic's administrator so it is revoked."
        ),
        from_email=None,
        recipient_list=[token.user.email],
        fail_silently=True,
    )


def api_token_user_locked(user) -> bool:
    """Whether the account is locked out after failed logins (django-axes), from any address."""
    from axes.models import AccessAttempt

    limit = getattr(settings, "AXES_FAILURE_LIMIT", 5)
    cooloff = getattr(settings, "AXES_COOLOFF_TIME", None)
    attempts = AccessAttempt.objects.filter(username=user.get_username(), failures_since_start__gte=limit)
    if isinstance(cooloff, int | float):
        attempts = attempts.filter(attempt_time__gte=timezone.now() - dt.timedelta(hours=cooloff))
    return attempts.exists()


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
    if api_token_user_locked(token.user):
        return None  # a locked account's tokens stop with its logins
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
    work raises, the claim is released so the client may try again with the same key. A claim can outlive its
    request when the database goes away mid-request (releasing it fails too) or the web worker is killed: one
    with no answer after ``IDEMPOTENCY_CLAIM_SECONDS`` (longer than any request may run) is taken over by the
    next retry, which would otherwise be told "in progress" forever. Redoing the work is safe: intake
    deduplicates what the abandoned attempt may already have stored.
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
            return _idempotent_produce(existing, produce)
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different request; use a new key.", code="key_reused"
        )
    if existing.response_status is None:
        if _idempotency_claim_take_over(existing):
            return _idempotent_produce(existing, produce)
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.", code="in_progress"
        )
    return IdempotentResult(status=existing.response_status, body=existing.response_body, replayed=True)


def _idempotency_claim_take_over(record: IdempotencyRecord) -> bool:
    """Claim an abandoned record (compare-and-set on its claim time, so only one retry wins it)."""
    abandoned_before = timezone.now() - dt.timedelta(seconds=settings.IDEMPOTENCY_CLAIM_SECONDS)
    if record.created_at >= abandoned_before:
        return False
    now = timezone.now()
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, created_at=record.created_at, response_status__isnull=True
    ).update(created_at=now)
    if taken:
        record.created_at = now
        logger.warning("idempotency claim %s abandoned by its request; a retry takes it over", record.pk)
    return bool(taken)


def _idempotent_produce(record: IdempotencyRecord, produce: Callable[[], tuple[int, dict]]) -> IdempotentResult:
    try:
        status, body = produce()
    except BaseException:
        record.delete()
        raise
    record.response_status, record.response_body = status, body
    record.save(update_fields=["response_status", "response_body"])
    return IdempotentResult(status=status, body=body, replayed=False)


# --- Staff accounts: separation of duties ----------------------------------------------------------------------
#
# Clinic admins manage staff without ever being able to act as them: they deactivate, force a password reset (the
# user sets the new password through a link mailed to them) and unlock accounts, but never set a password, and
# never issue a token for someone else (``api_token_create``).


def staff_password_setup_send(*, user, request=None) -> bool:
    """Mail ``user`` a link to choose their own password (Django's reset link); False when they have no address."""
    from django.contrib.auth.forms import PasswordResetForm

    if not user.email or not user.is_active:
        return False

    class _ForThisUser(PasswordResetForm):
        def get_users(self, email):
            yield user  # also when the password is unusable (a new account, or a forced reset)

    form = _ForThisUser({"email": user.email})
    form.is_valid()
    try:
        form.save(request=request, use_https=bool(request and request.is_secure()), domain_override=None)
    except (OSError, smtplib.SMTPException) as exc:  # no mail server: the caller says the link wasn't sent
        logger.warning("password link for user %s not sent: %s", user.pk, type(exc).__name__)
        return False
    return True


@transaction.atomic
def staff_password_reset_force(*, user, forced_by, request=None) -> bool:
    """The current password stops working (and every session of the account ends, since the session hash changes);
    the user is mailed a link to choose a new one. Returns whether the mail could be sent."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    logger.info("password reset forced for user %s by user %s", user.pk, forced_by.pk)
    return staff_password_setup_send(user=user, request=request)


def staff_unlock(*, user, unlocked_by) -> int:
    """Clear the account's failed-login lockout (django-axes), from every address; returns the records removed."""
    from axes.utils import reset

    removed = reset(username=user.get_username())
    logger.info("login lockout cleared for user %s by user %s", user.pk, unlocked_by.pk)
    return removed


@transaction.atomic
def staff_deactivate(*, user, deactivated_by) -> None:
    """The account can't log in; its sessions end at their next request and its API tokens stop at once."""
    if user.pk == deactivated_by.pk:
        raise PermissionDenied("You can't deactivate your own account.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    logger.info("user %s deactivated by user %s", user.pk, deactivated_by.pk)
