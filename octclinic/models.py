"""API tokens and idempotency records: the two things the REST API must remember between requests.

The module also makes octclinic a models app, so its post_migrate hook (re-applying the staff roles)
fires.
"""

from __future__ import annotations

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """One integration client's credential. Only a hash is stored: a database leak reveals no token.

    The token acts as its user, so it carries that user's role; revoking it (or deactivating the user)
    ends its access at once. ``prefix`` is the token's public start, shown so staff can tell tokens apart.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="Which client uses it, e.g. “EHR bridge”.")
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token {self.prefix}… ({self.name or 'unnamed'})"


class IdempotencyRecord(models.Model):
    """The answer given to a request sent with an ``Idempotency-Key``, replayed when it is retried.

    ``response_status`` stays NULL while the first request is still being processed, so a concurrent
    retry is told to wait instead of doing the work twice.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=64, help_text="Which endpoint the key was used on.")
    fingerprint = models.CharField(max_length=64, help_text="sha256 of the request, to spot a reused key.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_unique_key_per_user"),
        ]

    def __str__(self) -> str:
        return f"Idempotency record #{self.pk}"


# Issuing and revoking tokens is on the record (who issued one for whom, when it was revoked); never the hash.
auditlog.register(ApiToken, exclude_fields=["key_hash", "last_used_at"])
