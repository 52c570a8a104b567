"""Optional TOTP second factor (django-otp).

Anyone may enrol an authenticator app; for the roles listed in OTP_REQUIRED_FOR_ROLES the factor is
compulsory: until the session is verified, every page sends them to enrol or to enter a code. API
clients authenticate with tokens and are not affected.
"""

from __future__ import annotations

import base64

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .roles import user_roles

EXEMPT_PREFIXES = ("/accounts/", "/static/", "/favicon.ico", "/healthz", "/readyz", "/api/", "/metrics")


def second_factor_required(user) -> bool:
    required = set(getattr(settings, "OTP_REQUIRED_FOR_ROLES", []) or [])
    return bool(required & set(user_roles(user)))


class SecondFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and second_factor_required(user)
            and not user.is_verified()
        ):
            has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            target = "two_factor_verify" if has_device else "two_factor_setup"
            return redirect(f"{reverse(target)}?next={request.path}")
        return self.get_response(request)


class TokenForm(forms.Form):
    otp_token = forms.RegexField(
        regex=r"^\d{6}$",
        label="6-digit code from your authenticator app",
        error_messages={"invalid": "Enter the 6 digits your authenticator app shows."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}) and candidate.startswith("/"):
        return candidate
    return reverse("home")


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Enrol an authenticator: show a QR code for a fresh unconfirmed device, confirm with a code."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
            otp_login(request, device)
            messages.success(request, "Two-factor authentication is on for your account.")
            return redirect(_next_url(request))
        form.add_error("otp_token", "That code didn't match. Check your phone's clock and try the next code.")
    qr_svg = segno.make(device.config_url, error="m").svg_data_uri(scale=5)
    secret = base64.b32encode(device.bin_key).decode()
    context = {"form": form, "qr_svg": qr_svg, "secret": secret, "next": _next_url(request)}
    return render(request, "registration/two_factor_setup.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["otp_token"]):
                otp_login(request, device)
                return redirect(_next_url(request))
        form.add_error("otp_token", "That code didn't match. Try the next code your app shows.")
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)})
