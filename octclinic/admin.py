"""Staff management in the admin, safe for clinic admins who are not superusers.

A clinic admin may create staff and give them one of the clinic roles, but must not be able to make
anyone (themselves included) a superuser, hand out raw permissions, or edit a superuser.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

from .models import ApiToken
from .roles import ROLES, user_staff_flag_sync
from .services import api_token_create, api_token_revoke

User = get_user_model()
admin.site.site_header = "OCT Clinic administration"
admin.site.site_title = "OCT Clinic admin"


class ClinicUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role_names", "is_active", "last_login")
    list_filter = ("is_active", "groups")

    @admin.display(description="Roles")
    def role_names(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        qs = super().get_queryset(request).prefetch_related("groups")
        if not request.user.is_superuser:
            qs = qs.filter(is_superuser=False)
        return qs

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        return (
            (None, {"fields": ("username", "password")}),
            ("Personal info", {"fields": ("first_name", "last_name", "email")}),
            ("Role", {"fields": ("is_active", "groups")}),
            ("Important dates", {"fields": ("last_login", "date_joined")}),
        )

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("last_login", "date_joined")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Admin-site access follows the role, so nobody has to remember to tick "staff status".
        user_staff_flag_sync(user=form.instance)


admin.site.unregister(User)
admin.site.register(User, ClinicUserAdmin)


# --- API tokens -------------------------------------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Issue and revoke integration tokens. The secret is shown once, in the message after saving."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_selected"]
    list_select_related = ("user",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "name", "expires_at")
        return ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "user") if obj is not None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            # Same rule as staff management: a clinic admin never acts for a superuser.
            kwargs["queryset"] = User.objects.filter(is_superuser=False, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the row keeps who had access until when

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "expires_at"])
            return
        issued = api_token_create(
            user=form.cleaned_data["user"], name=form.cleaned_data["name"], expires_at=form.cleaned_data["expires_at"]
        )
        obj.pk, obj.prefix = issued.token.pk, issued.token.prefix
        messages.warning(request, f"Copy the token now, it is not shown again: {issued.raw}")

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        for token in queryset:
            api_token_revoke(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")
