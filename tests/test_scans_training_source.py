"""scans feeds mlcore's training without mlcore importing scans: imported labelled images become items."""

from mlcore.labels import CLASSES
from mlcore.phantom import phantom_folder_write
from mlcore.preprocessing import image_preprocess
from mlcore.training_sources import training_items_collect, training_sources
from scans.services import dataset_import
from scans.training_source import patient_group_key


def test_imported_labelled_images_are_training_items(db, tmp_path):
    phantom_folder_write(tmp_path / "set", per_class=3, patients_per_class=2)
    job = dataset_import(path=tmp_path / "set", name="phantoms")
    assert job.imported == 12

    assert "scans" in training_sources()
    items = training_items_collect(source="scans")

    assert len(items) == 12 and {i.label for i in items} == set(CLASSES)
    assert all(i.group and i.group.startswith("kermany:") for i in items)
    assert len({i.key for i in items}) == 12
    assert image_preprocess(items[0].load(), input_size=75).shape == (75, 75, 3)
    assert all("labelled image #" in i.provenance for i in items)


def test_clinic_group_key_is_opaque_and_stable(settings):
    settings.SCANS_DEID_UID_SALT = "salt"
    key = patient_group_key(42)
    assert key == patient_group_key(42) != patient_group_key(43)
    assert key.startswith("clinic:") and len(key) == len("clinic:") + 24
    settings.SCANS_DEID_UID_SALT = "another clinic"
    assert patient_group_key(42) != key  # salted: the key cannot be recomputed from the row id alone
