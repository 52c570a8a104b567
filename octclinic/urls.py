from django.contrib import admin
from django.urls import include, path

from . import audit_views, health, metrics, two_factor, views

handler400 = "octclinic.views.bad_request"
handler403 = "octclinic.views.permission_denied"
handler404 = "octclinic.views.page_not_found"
handler500 = "octclinic.views.server_error"


urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/2fa/setup/", two_factor.two_factor_setup, name="two_factor_setup"),
    path("accounts/2fa/verify/", two_factor.two_factor_verify, name="two_factor_verify"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("patients/", include("patients.urls")),
    path("schedule/", include("scheduling.urls")),
    path("scans/", include("scans.urls")),
    path("models/", include("mlcore.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("octclinic.api_urls")),
]
