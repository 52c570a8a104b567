from django.conf import settings
from django.http import HttpRequest

from .roles import user_roles


def clinic(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "CLINIC_NAME": settings.CLINIC_NAME,
        "CLINIC_TIME_ZONE": settings.TIME_ZONE,
        "user_roles": user_roles(user) if user is not None and user.is_authenticated else [],
    }
