from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .roles import CLINIC_ADMIN, DOCTOR, TECHNICIAN, user_roles


@login_required
def home(request):
    """Send each role to where its day starts; dashboards per role arrive with later issues."""
    roles = user_roles(request.user)
    if TECHNICIAN in roles or CLINIC_ADMIN in roles:
        return redirect("scheduling:day")
    if DOCTOR in roles:
        return redirect("patients:list")
    return render(request, "octclinic/no_role.html", status=403)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)
