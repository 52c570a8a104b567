"""One training at a time: the database refuses a second active run, however it is started."""

import pytest
from django.db import IntegrityError, transaction

from mlcore.exceptions import TrainingBusy
from mlcore.models import TrainingRun
from mlcore.services import training_retrain_scheduled, training_run_request
from mlcore.training_sources import TrainingItem, training_source_register, training_sources


def test_second_request_is_refused_while_one_is_queued_or_running(db, phantom_dir):
    first = training_run_request(params={"data": str(phantom_dir)}, enqueue=False)
    with pytest.raises(TrainingBusy):
        training_run_request(params={"data": str(phantom_dir)}, enqueue=False)
    TrainingRun.objects.filter(pk=first.pk).update(status="running")
    with pytest.raises(TrainingBusy):
        training_run_request(params={"data": str(phantom_dir)}, enqueue=False)
    TrainingRun.objects.filter(pk=first.pk).update(status="succeeded")
    assert training_run_request(params={"data": str(phantom_dir)}, enqueue=False).status == "queued"


def test_the_database_itself_refuses_two_active_runs(db):
    TrainingRun.objects.create(status="running")
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(status="queued")


def test_request_enqueues_the_task_only_after_commit(db, django_capture_on_commit_callbacks, monkeypatch, phantom_dir):
    sent = []
    monkeypatch.setattr("mlcore.tasks.training_run_task.delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        run = training_run_request(params={"data": str(phantom_dir)})
        assert sent == []
    assert sent == [run.pk]


@pytest.fixture
def approved_labels(settings):
    """A registered source with 5 labelled items (as doctor-approved labels would be)."""
    settings.MLCORE_RETRAIN_MIN_NEW_LABELS = 5
    saved = training_sources()
    items = [TrainingItem(key=f"t:{i}", label="NORMAL", load=bytes, group=f"g{i}") for i in range(5)]
    training_source_register(name="test-approved", source=lambda: items)
    yield items
    from mlcore import training_sources as module

    module._sources.clear()
    module._sources.update(saved)


def test_scheduled_retraining_starts_exactly_one_run_when_several_beats_fire(db, approved_labels, monkeypatch):
    sent = []
    monkeypatch.setattr("mlcore.tasks.training_run_task.delay", sent.append)
    runs = [training_retrain_scheduled() for _ in range(3)]  # three beat processes fire the same tick
    started = [r for r in runs if r is not None]
    assert len(started) == 1 and TrainingRun.objects.count() == 1
    assert started[0].trigger == "scheduled" and started[0].params["auto_promote"] is True


def test_scheduled_retraining_waits_for_enough_new_labels(db, approved_labels, settings):
    settings.MLCORE_RETRAIN_MIN_NEW_LABELS = 6
    assert training_retrain_scheduled() is None
    assert not TrainingRun.objects.exists()


def test_concurrent_requests_from_several_processes_start_one_run(transactional_db, phantom_dir):
    """Threads with their own database connections stand in for web, beat and worker processes."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(4)
    outcomes = []

    def request():
        try:
            barrier.wait()
            outcomes.append(training_run_request(params={"data": str(phantom_dir)}, enqueue=False).pk)
        except TrainingBusy:
            outcomes.append("busy")
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=str).count("busy") == 3
    assert TrainingRun.objects.count() == 1
