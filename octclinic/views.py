from django.contrib.auth.decorators import login_required
from django.shortcuts import render

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


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)
