"""Role permissions for API views: the same Django model permissions the HTML views check.

A view lists, per action, the permissions it needs (``action_permissions``). An action that is not
listed is refused, so a new endpoint can't be open by omission. Which *objects* a caller reaches is
decided by each app's access module (``patients.access.patients_visible_to``) in the view's queryset,
so out-of-reach objects answer 404.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class RolePermissions(BasePermission):
    message = "Your role may not do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user.is_active:
            return False
        mapping: dict[str, tuple[str, ...]] = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None) or request.method.lower()
        if action not in mapping:
            return False
        return user.has_perms(mapping[action])
