"""Absolute session lifetime.

The idle timeout is Django's own (SESSION_COOKIE_AGE, refreshed by every request). On top of it a
session may not outlive SESSION_ABSOLUTE_SECONDS from login, so a workstation left logged in and in
use all week still asks for the password again.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver

SESSION_KEY = "octclinic_authenticated_at"


@receiver(user_logged_in)
def _stamp_login_time(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = int(time.time())


class SessionExpiryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.get(SESSION_KEY)
            if started is None:
                request.session[SESSION_KEY] = int(time.time())
            elif time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)  # the API answers 401/403 itself
                return redirect_to_login(request.path)
        return self.get_response(request)
