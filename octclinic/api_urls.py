"""Routes of /api/: the OpenAPI schema, its docs, and version 1 of the API under /api/v1/.

Each app contributes its viewsets from its own ``api.py``; the review issue adds one ``register`` line
here for its module.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from mlcore.api import ModelJobViewSet, ModelVersionViewSet, TrainingRunViewSet
from patients.api import PatientViewSet
from scans.api import ScanViewSet
from scans.review_api import ReviewViewSet
from scheduling.api import AppointmentViewSet, ResourceViewSet

from .api_views import HealthView, api_not_found

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `.json` suffix routes: JSON is the only format, and the actions' signatures don't take a `format` argument
# (`/api/v1/patients/1/history.json` was a 500).
router.include_format_suffixes = False
router.register("patients", PatientViewSet, basename="patient")
router.register("resources", ResourceViewSet, basename="resource")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("scans", ScanViewSet, basename="scan")
router.register("model-versions", ModelVersionViewSet, basename="model-version")
router.register("training-runs", TrainingRunViewSet, basename="training-run")
router.register("model-jobs", ModelJobViewSet, basename="model-job")
router.register("reviews", ReviewViewSet, basename="review")

v1 = [
    path("health/", HealthView.as_view(), name="health"),
    *router.urls,
]
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("v1/", include(v1)),
    re_path(r"^[\s\S]*$", api_not_found),  # last: anything else under /api/ is a JSON 404
]
