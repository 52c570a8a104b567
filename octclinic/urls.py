from django.contrib import admin
from django.urls import include, path

from . import health, views

handler403 = "octclinic.views.permission_denied"
handler404 = "octclinic.views.page_not_found"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("patients/", include("patients.urls")),
    path("schedule/", include("scheduling.urls")),
    path("scans/", include("scans.urls")),
    path("admin/", admin.site.urls),
]
