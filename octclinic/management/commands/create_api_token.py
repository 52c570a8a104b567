"""Issue an API token for a staff account; the token is printed once, as the last line."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from octclinic.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME. It acts with that user's role. Printed once; store it safely."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="Which client uses it, e.g. 'EHR bridge'.")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args, username: str, name: str, expires_in_days: int | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is deactivated; a token for it would not work.")
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError("--expires-in-days must be at least 1.")
            expires_at = timezone.now() + dt.timedelta(days=expires_in_days)
        issued = api_token_create(user=user, name=name, expires_at=expires_at)
        self.stderr.write(
            f"Token {issued.token.prefix}… created for {username}"
            + (f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "")
            + ". It is shown only now; send it as `Authorization: Bearer <token>`."
        )
        self.stdout.write(issued.raw)
