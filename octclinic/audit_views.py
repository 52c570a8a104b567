from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .audit import AuditFilterForm, audit_changes, audit_csv, audit_entries, login_events


@login_required
@permission_required("auditlog.view_logentry", raise_exception=True)
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    entries = audit_entries(filters=filters)
    if request.GET.get("export") == "csv":
        response = HttpResponse(audit_csv(entries=entries, user=request.user), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    changes = audit_changes(entries=shown, user=request.user)
    rows = [(entry, changes[entry.pk]) for entry in shown]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "logins": login_events(filters=filters, limit=50),
        "querystring": query.urlencode(),
        "nav": "audit",
    }
    return render(request, "octclinic/audit.html", context)
