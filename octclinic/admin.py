"""Staff management in the admin, safe for clinic admins who are not superusers.

A clinic admin may create staff and give them one of the clinic roles, but must not be able to make
anyone (themselves included) a superuser, hand out raw permissions, or edit a superuser.

Separation of duties (issue #18): a clinic admin must never be able to act as another user. So a clinic admin
never sets anyone's password (new staff and forced resets get a link mailed to them to choose their own), never
changes an existing account's email (where that link goes), never changes their own roles or active flag, and
issues API tokens only for themselves (a superuser may issue one for someone else: audited, and the user is told).
What a clinic admin may do to staff: create, give roles, deactivate, force a password reset, unlock.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from .admin_search import post_search_everywhere
from .models import ApiToken
from .roles import ROLES, user_staff_flag_sync
from .services import (
    api_token_create,
    api_token_revoke,
    staff_deactivate,
    staff_password_reset_force,
    staff_password_setup_send,
    staff_unlock,
)

User = get_user_model()
admin.site.site_header = "OCT Clinic administration"
admin.site.site_title = "OCT Clinic admin"


class StaffCreationForm(forms.ModelForm):
    """New staff for clinic admins: no password field. The account starts without a usable password and the new
    colleague is mailed a link to choose their own."""

    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["email"].help_text = "The link to choose a password is sent here."

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


class ClinicUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role_names", "is_active", "last_login")
    list_filter = ("is_active", "groups")
    actions = ["deactivate_selected", "force_password_reset", "unlock_selected"]
    staff_add_fieldsets = ((None, {"fields": ("username", "first_name", "last_name", "email")}),)

    @admin.display(description="Roles")
    def role_names(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        qs = super().get_queryset(request).prefetch_related("groups")
        if not request.user.is_superuser:
            qs = qs.filter(is_superuser=False)
        return qs

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        if obj is None:
            return self.staff_add_fieldsets
        # No password field (not even the link to the set-password form): a clinic admin never sets one.
        return (
            (None, {"fields": ("username",)}),
            ("Personal info", {"fields": ("first_name", "last_name", "email")}),
            ("Role", {"fields": ("is_active", "groups")}),
            ("Important dates", {"fields": ("last_login", "date_joined")}),
        )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None and not request.user.is_superuser:
            kwargs["form"] = StaffCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        readonly = ["last_login", "date_joined"]
        if obj is not None:
            readonly.append("email")  # where password links go: changing it would let the admin take the account
            if obj.pk == request.user.pk:
                readonly += ["is_active", "groups"]  # no granting oneself the doctor role
        return readonly

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            # Clinic admins force a reset instead (the user chooses the new password); everyone changes their own
            # under "Change password", which asks for the current one.
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        mailed = not change and not request.user.is_superuser and staff_password_setup_send(user=obj, request=request)
        if mailed:
            messages.info(request, "A link to choose a password was mailed to the new colleague.")

    @admin.action(description="Deactivate selected staff (sessions and API tokens stop)", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        done = 0
        for user in queryset.exclude(pk=request.user.pk):
            staff_deactivate(user=user, deactivated_by=request.user)
            done += 1
        self.message_user(request, f"{done} account(s) deactivated.")

    @admin.action(description="Force a password reset (a link is mailed to each)", permissions=["change"])
    def force_password_reset(self, request, queryset):
        mailed = unmailed = 0
        for user in queryset.exclude(pk=request.user.pk):
            if staff_password_reset_force(user=user, forced_by=request.user, request=request):
                mailed += 1
            else:
                unmailed += 1
        self.message_user(request, f"{mailed + unmailed} password(s) reset; {mailed} link(s) mailed.")
        if unmailed:
            self.message_user(
                request,
                f"{unmailed} account(s) have no email address: a superuser must add one before they can log in.",
                messages.WARNING,
            )

    @admin.action(description="Unlock selected accounts (failed-login lockout)", permissions=["change"])
    def unlock_selected(self, request, queryset):
        for user in queryset:
            staff_unlock(user=user, unlocked_by=request.user)
        self.message_user(request, f"{queryset.count()} account(s) unlocked.")

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
            # A token acts as its user: only a superuser chooses someone else (audited, and they are told).
            return ("user", "name", "expires_at") if request.user.is_superuser else ("name", "expires_at")
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
        owner = form.cleaned_data.get("user") or request.user
        issued = api_token_create(
            user=owner,
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
            issued_by=request.user,
        )
        obj.pk, obj.prefix, obj.user = issued.token.pk, issued.token.prefix, owner
        messages.warning(request, f"Copy the token now, it is not shown again: {issued.raw}")
        if owner.pk != request.user.pk:
            told = "by email" if owner.email else "— they have no email address, so tell them yourself"
            messages.info(
                request, f"The token acts as {owner.get_username()}; the issue is audited and they are told {told}."
            )

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        for token in queryset:
            api_token_revoke(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")


# Last admin module to load (octclinic is the last app): every ModelAdmin registered by now searches by POST.
post_search_everywhere(admin.site)
