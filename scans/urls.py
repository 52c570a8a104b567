from django.urls import path

from . import views

app_name = "scans"
urlpatterns = [
    path("upload/", views.scan_upload, name="upload"),
    path("patient/<int:patient_pk>/", views.patient_gallery, name="patient_gallery"),
    path("patient/<int:patient_pk>/compare/", views.scan_compare, name="compare"),
    path("<uuid:uuid>/", views.scan_detail, name="detail"),
    path("<uuid:uuid>/ai-frames/", views.scan_ai_frames, name="ai_frames"),
    path("<uuid:uuid>/frames/<int:number>/", views.scan_frame, name="frame"),
    path("<uuid:uuid>/file/<str:kind>/", views.scan_file, name="file"),
]
