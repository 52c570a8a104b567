"""Pagination for the API's lists.

Most lists are paged by number (``?page=2``) with a total ``count``: simple for scripts, and stable with the
explicit orderings every list has. Scans are paged by cursor instead: they are the collection that grows
without bound (a clinic adds tens of thousands a year), and an exact ``count`` is a scan of every visible
row on each request (at 100,000 scans it cost more than the rest of the request together, see
docs/operations.md), while an ``OFFSET`` deep into the archive costs as much. A cursor seeks by
``uploaded_at`` through its index, so every page costs the same, and new uploads don't shift the pages a
client is walking.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination, PageNumberPagination


class _ApiPageSize:
    """``?page_size=`` up to 200; the default read from settings per request, so a deployment or test can set it."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        self.page_size = getattr(settings, "API_PAGE_SIZE", 50)
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            # DRF quietly used the default for `page_size=null`, `0` or `-3`: a 400 naming it instead.
            if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
                raise exceptions.ValidationError(
                    {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
                )
            return int(raw)
        return self.page_size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
            elif parameter["name"] == getattr(self, "page_query_param", None):
                parameter["schema"]["minimum"] = 1
        return parameters


class ApiPagination(_ApiPageSize, PageNumberPagination):
    pass


class ApiCursorPagination(_ApiPageSize, CursorPagination):
    """``{"next", "previous", "results"}``; follow the links as given (the cursor is opaque).

    The ordering is the view's (``ordering``, or ``?ordering=`` among its ``ordering_fields``); its first
    field should be indexed and nearly unique (ties are paged by an offset within the tie).
    """

    invalid_cursor_message = "The cursor is not valid; follow the `next` and `previous` links as given."

    def get_ordering(self, request, queryset, view):
        # ``?ordering=uploaded_at`` alone leaves ties in an order the database may change between pages; the
        # id after it (same direction) makes every page's order total, so no row is skipped or repeated.
        ordering = super().get_ordering(request, queryset, view)
        if ordering[-1].lstrip("-") not in ("id", "pk"):
            ordering = (*ordering, "-id" if ordering[0].startswith("-") else "id")
        return ordering

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        # DRF answers a malformed cursor with 404 and lets a well-formed one with a bad position reach the
        # database; both are bad input: a 400 naming the parameter, without echoing it.
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise self._invalid() from exc
        if cursor is not None and cursor.position is not None:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
            try:
                field.to_python(cursor.position)
            except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
                raise self._invalid() from exc
        return cursor

    def _invalid(self) -> exceptions.ValidationError:
        return exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})
