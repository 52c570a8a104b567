"""Django's model-permission backend, with a user's own and group permissions read in one query.

Every page and API request checks role permissions; Django's ``ModelBackend`` reads them with two queries
(user, then groups) per request, which on the API's list endpoints is a sizeable share of the work.
Same answers, same per-request cache (``_perm_cache``), one round trip.
"""

from __future__ import annotations

from django.contrib.auth import backends
from django.contrib.auth.models import Permission
from django.db.models import Q


class ModelBackend(backends.ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            rows = (
                Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
                .order_by()
                .values_list("content_type__app_label", "codename")
                .distinct()
            )
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
