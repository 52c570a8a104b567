from django.urls import path

from . import dicom_views, exports, model_input_views, review_views, views

app_name = "scans"
urlpatterns = [
    path("upload/", views.scan_upload, name="upload"),
    path("patient/<int:patient_pk>/", views.patient_gallery, name="patient_gallery"),
    path("patient/<int:patient_pk>/compare/", views.scan_compare, name="compare"),
    path("<uuid:uuid>/", views.scan_detail, name="detail"),
    path("<uuid:uuid>/ai-frames/", views.scan_ai_frames, name="ai_frames"),
    path("<uuid:uuid>/frames/<int:number>/", views.scan_frame, name="frame"),
    path("<uuid:uuid>/file/<str:kind>/", views.scan_file, name="file"),
    path("<uuid:uuid>/ai/", views.scan_ai_status, name="ai_status"),
    path("<uuid:uuid>/ai/retry/", views.scan_ai_retry, name="ai_retry"),
    path("<uuid:uuid>/ai/heatmap/<int:prediction_pk>/", views.scan_heatmap, name="heatmap"),
    path("<uuid:uuid>/ai/input/<int:prediction_pk>/", model_input_views.scan_model_input, name="model_input"),
    path("review/", review_views.review_queue_view, name="review_queue"),
    path("review/next/", review_views.review_next_view, name="review_next"),
    path("review/disagreements/", review_views.review_disagreements_view, name="review_disagreements"),
    path("review/<uuid:uuid>/", review_views.review_scan_view, name="review"),
    path("review/<uuid:uuid>/decide/", review_views.review_decide_view, name="review_decide"),
    path("review/<uuid:uuid>/second-opinion/", review_views.review_second_opinion_view, name="review_second_opinion"),
    path("reviews/export.<str:fmt>", exports.reviews_export_view, name="reviews_export"),
    path("patient/<int:patient_pk>/report/<str:eye>.pdf", exports.visit_report_view, name="visit_report"),
    path("reconciliation/", dicom_views.reconciliation_list_view, name="reconciliation"),
    path("reconciliation/<uuid:uuid>/", dicom_views.reconciliation_assign_view, name="reconciliation_assign"),
    path("patient/<int:patient_pk>/pacs/", dicom_views.pacs_studies_view, name="pacs_studies"),
    path("patient/<int:patient_pk>/pacs/retrieve/", dicom_views.pacs_retrieve_view, name="pacs_retrieve"),
    path("patient/<int:patient_pk>/pacs/report/", dicom_views.pacs_report_store_view, name="pacs_report_store"),
]
