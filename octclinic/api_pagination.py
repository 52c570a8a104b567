"""Page-number pagination: simple for scripts, and stable with the explicit orderings every list has."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        self.page_size = getattr(settings, "API_PAGE_SIZE", 50)
        return super().get_page_size(request)
