"""Folder sources: CLASS/*, train|val|test/CLASS/* and Kermany names; bad folders are clear errors."""

import pytest

from mlcore.training_sources import folder_items


def test_layouts_and_groups(tmp_path):
    for rel in ("train/CNV/CNV-123-1.jpeg", "test/NORMAL/NORMAL-9-2.jpeg", "DME/scan.png", "notes/readme.png"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    items = {i.provenance: i for i in folder_items(tmp_path)}
    assert set(items) == {"train/CNV/CNV-123-1.jpeg", "test/NORMAL/NORMAL-9-2.jpeg", "DME/scan.png"}
    assert items["train/CNV/CNV-123-1.jpeg"].split == "train"
    assert items["test/NORMAL/NORMAL-9-2.jpeg"].group == "kermany:9"
    assert items["DME/scan.png"].group is None and items["DME/scan.png"].split is None


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        folder_items(tmp_path / "nope")
    with pytest.raises(ValueError, match="No labelled images"):
        folder_items(tmp_path)
