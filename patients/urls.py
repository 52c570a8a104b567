from django.urls import path

from . import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list_view, name="list"),
    path("new/", views.patient_create_view, name="create"),
    path("<int:pk>/", views.patient_detail_view, name="detail"),
    path("<int:pk>/edit/", views.patient_edit_view, name="edit"),
    path("<int:pk>/archive/", views.patient_archive_view, name="archive"),
]
