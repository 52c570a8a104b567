"""Django's model-permission backend, with a user's own and group permissions read in one plain query.

Every page and API request checks role permissions. Django's ``ModelBackend`` reads them with two ORM
queries (user, then groups); building and compiling those cost more Python than the rest of a small API
request's auth together. Here one statement, composed once per process from the models' own table and
column names, answers both. Same answers (a test compares them with Django's), same per-request cache
(``_perm_cache``).
"""

from __future__ import annotations

import functools

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router


class ModelBackend(backends.ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            alias = router.db_for_read(Permission)
            with connections[alias].cursor() as cursor:
                cursor.execute(_permissions_statement(alias), [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}
        return user_obj._perm_cache


@functools.cache
def _permissions_statement(alias: str) -> str:
    """``SELECT app_label, codename`` of the user's own permissions and those of the user's groups."""
    qn = connections[alias].ops.quote_name
    user_model = get_user_model()
    own = user_model._meta.get_field("user_permissions").remote_field.through._meta
    membership = user_model._meta.get_field("groups").remote_field.through._meta
    granted = Group._meta.get_field("permissions").remote_field.through._meta

    def column(meta, model) -> str:
        return qn(next(f.column for f in meta.fields if f.related_model is model))

    perm, ctype = Permission._meta, ContentType._meta
    # Identifiers come from the models' metadata, quoted; the user id is a parameter.
    return (
        f"SELECT DISTINCT ct.{qn('app_label')}, p.{qn('codename')} "  # noqa: S608
        f"FROM {qn(perm.db_table)} p "
        f"JOIN {qn(ctype.db_table)} ct ON ct.{qn(ctype.pk.column)} = p.{qn(perm.get_field('content_type').column)} "
        f"WHERE p.{qn(perm.pk.column)} IN ("
        f"SELECT {column(own, Permission)} FROM {qn(own.db_table)} WHERE {column(own, user_model)} = %s"
        f") OR p.{qn(perm.pk.column)} IN ("
        f"SELECT g.{column(granted, Permission)} FROM {qn(granted.db_table)} g "
        f"JOIN {qn(membership.db_table)} m ON m.{column(membership, Group)} = g.{column(granted, Group)} "
        f"WHERE m.{column(membership, user_model)} = %s)"
    )
