"""Phantom B-scans: four distinct classes, Kermany-style names so the by-patient split applies."""

import numpy as np

from mlcore.labels import CLASSES
from mlcore.phantom import phantom_bscan
from mlcore.training_sources import folder_items


def test_each_class_draws_its_own_hallmark():
    scans = {label: phantom_bscan(label, seed=1) for label in CLASSES}
    assert all(s.dtype == np.uint8 and s.ndim == 2 for s in scans.values())
    assert len({s.tobytes() for s in scans.values()}) == 4
    # Same seed, same anatomy: the lesion is what differs from the normal scan.
    for label in ("CNV", "DME", "DRUSEN"):
        assert np.abs(scans[label].astype(int) - scans["NORMAL"].astype(int)).mean() > 1
    assert (phantom_bscan("DME", seed=3) == phantom_bscan("DME", seed=3)).all()


def test_phantom_folder_reads_as_a_labelled_kermany_folder(phantom_dir):
    items = folder_items(phantom_dir)
    assert {i.label for i in items} == set(CLASSES) and len(items) == 40
    assert all(i.group and i.group.startswith("kermany:") for i in items)
    assert len({i.group for i in items}) == 20
