from django.urls import path

from . import views

app_name = "mlcore"
urlpatterns = [
    path("", views.model_list, name="list"),
    path("queue/", views.queue_state, name="queue"),
    path("rollback/", views.model_rollback, name="rollback"),
    path("jobs/<int:pk>/", views.job_progress, name="job_progress"),
    path("training/start/", views.training_start, name="training_start"),
    path("training/<int:pk>/", views.training_progress, name="training_progress"),
    path("training/<int:pk>/cancel/", views.training_cancel, name="training_cancel"),
    path("<str:version>/", views.model_card, name="card"),
    path("<str:version>/deploy/", views.model_deploy, name="deploy"),
    path("<str:version>/retire/", views.model_retire, name="retire"),
    path("<str:version>/shadow/", views.model_shadow, name="shadow"),
    path("<str:version>/gate/", views.model_gate, name="gate"),
    path("<str:version>/evaluate/", views.model_evaluate, name="evaluate"),
    path("<str:version>/<str:figure>.png", views.model_figure, name="figure"),
]
