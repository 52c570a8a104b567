"""The admin's search, kept out of URLs (issue #18 part 3).

Django's admin searches with a GET (``/admin/patients/patient/?q=<last name>``), so a patient's name or MRN lands
in the access log, the browser history and the ``Referer`` of the next request. Here the search box is POSTed; the
term is kept in the session under a random token and the results page is ``?_st=<token>``: links to other pages of
the results, sorting and filters carry the token, never the term. A ``?q=`` still arriving (an old bookmark, a
hand-typed URL) is not searched: the page redirects to itself without it.

Applied to every ModelAdmin of the site (``post_search_everywhere``), since the search box template is global.
"""

from __future__ import annotations

import secrets

from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.http import HttpResponseRedirect
from django.middleware.csrf import get_token

SEARCH_TOKEN_VAR = "_st"  # noqa: S105 - a query parameter name, not a secret
SEARCH_SUBMIT = "_search"
SESSION_KEY = "octclinic_admin_searches"
KEPT_SEARCHES = 20


def search_term(request) -> str:
    token = request.GET.get(SEARCH_TOKEN_VAR, "")
    return request.session.get(SESSION_KEY, {}).get(token, "") if token else ""


class TokenSearchChangeList(ChangeList):
    """The term comes from the session (by the ``_st`` token), and the token is no filter."""

    def __init__(self, request, *args, **kwargs):
        self._search_term = search_term(request)
        self.csrf_token = get_token(request)  # the search box posts; the inclusion tag has no csrf_token
        super().__init__(request, *args, **kwargs)

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        lookup_params.pop(SEARCH_TOKEN_VAR, None)
        return lookup_params

    def get_queryset(self, request, exclude_parameters=None):
        self.query = self._search_term
        return super().get_queryset(request, exclude_parameters)


class PostSearchMixin:
    def get_changelist(self, request, **kwargs):
        return TokenSearchChangeList

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and SEARCH_SUBMIT in request.POST:
            return self._search_redirect(request, request.POST.get(SEARCH_VAR, "").strip())
        if SEARCH_VAR in request.GET:
            return self._search_redirect(request, "", keep_token=True)  # never search from a URL
        return super().changelist_view(request, extra_context)

    def _search_redirect(self, request, term: str, *, keep_token: bool = False) -> HttpResponseRedirect:
        params = request.GET.copy()
        params.pop(SEARCH_VAR, None)
        params.pop("p", None)
        if not keep_token:
            params.pop(SEARCH_TOKEN_VAR, None)
        if term:
            token = secrets.token_urlsafe(12)
            searches = dict(list(request.session.get(SESSION_KEY, {}).items())[-(KEPT_SEARCHES - 1) :])
            searches[token] = term
            request.session[SESSION_KEY] = searches
            params[SEARCH_TOKEN_VAR] = token
        query = params.urlencode()
        return HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)


def post_search_everywhere(site) -> None:
    """Give every registered ModelAdmin the POSTed search (the search box template posts for all of them)."""
    for model_admin in list(site._registry.values()):
        cls = type(model_admin)
        if not issubclass(cls, PostSearchMixin):
            model_admin.__class__ = type(cls.__name__, (PostSearchMixin, cls), {"__module__": cls.__module__})
