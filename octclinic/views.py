from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from . import dashboards
from .roles import CLINIC_ADMIN, DOCTOR, TECHNICIAN, user_roles

DASHBOARD_ROLES = {
    DOCTOR: ("octclinic/dashboard_doctor.html", dashboards.doctor_dashboard),
    CLINIC_ADMIN: ("octclinic/dashboard_clinic_admin.html", dashboards.clinic_admin_dashboard),
    TECHNICIAN: ("octclinic/dashboard_technician.html", dashboards.technician_dashboard),
}


@login_required
def home(request):
    """Each role's dashboard; someone with two roles picks with ?as=<role> (doctor first: the queue waits)."""
    roles = user_roles(request.user)
    if not roles:
        return render(request, "octclinic/no_role.html", status=403)
    wanted = request.GET.get("as", "")
    role = next((r for r in roles if r.lower().replace(" ", "_") == wanted), None)
    role = role or next(r for r in (DOCTOR, CLINIC_ADMIN, TECHNICIAN) if r in roles)
    template, build = DASHBOARD_ROLES[role]
    context = {**build(user=request.user), "role": role, "other_roles": [r for r in roles if r != role], "nav": "home"}
    response = render(request, template, context)
    response["Cache-Control"] = "private, no-store"
    return response


def _api_error(request, *, status: int, code: str, message: str):
    """Under /api/ the error pages answer in the API's one JSON shape (octclinic.api_errors)."""
    if request.path.startswith("/api/"):
        from .api_errors import error_body

        return JsonResponse(error_body(code=code, message=message), status=status)
    return None


def bad_request(request, exception=None):
    """Django's refusals outside a DRF view (e.g. too many fields read by a middleware): a 400, never a 500."""
    return _api_error(
        request, status=400, code="bad_request", message="The request could not be read."
    ) or defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    return _api_error(request, status=403, code="permission_denied", message="Your role may not do this.") or render(
        request, "403.html", status=403
    )


def page_not_found(request, exception=None):
    return _api_error(request, status=404, code="not_found", message="Not found.") or render(
        request, "404.html", status=404
    )


def server_error(request):
    return _api_error(
        request, status=500, code="server_error", message="Internal error; it has been logged."
    ) or defaults.server_error(request)


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico on a first visit whatever the page's <link rel="icon"> says; without this
    every first page load logged a 404. A temporary redirect to the vendored icon (its URL carries the manifest
    hash in production, so it must not be remembered for ever), cached for a day."""
    return HttpResponseRedirect(static("img/favicon.ico"))
