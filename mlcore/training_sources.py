"""Where training images come from, without mlcore knowing about patients or scans.

Other apps register a *source*: a function returning ``TrainingItem``s (an image loader, a label, an opaque
group key for the by-patient split, provenance). ``scans`` registers its imported labelled datasets and, once
doctors approve readings, their approved labels (``scans/training_source.py``). A folder on disk is a source
too, for ``manage.py train_model --data DIR`` and ``evaluate_model --data DIR``.

The group key is what keeps one patient's images in one split. It must be opaque: the Kermany patient id
from a file name, or a salted hash for clinic scans, never an MRN.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcore.labels import CLASSES

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp"}
SPLIT_FOLDERS = {"train": "train", "val": "validation", "validation": "validation", "test": "test"}
# Kermany file names: CLASS-PATIENT-N.jpeg (e.g. DME-5760454-1.jpeg).
KERMANY_NAME = re.compile(r"^(CNV|DME|DRUSEN|NORMAL)-(\d+)-\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class TrainingItem:
    key: str  # stable, unique within its source: identifies the item in a dataset snapshot
    label: str
    load: Callable[[], bytes] = field(compare=False, repr=False)
    group: str | None = None  # None: no patient known -> training only, never in validation/test
    sha256: str = ""
    provenance: str = ""
    split: str | None = None  # a split the source itself imposes (e.g. a folder's test/)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


TrainingSource = Callable[..., Iterable[TrainingItem]]
_sources: dict[str, TrainingSource] = {}


def training_source_register(*, name: str, source: TrainingSource) -> None:
    """Called from another app's ``AppConfig.ready``; registering the same name again replaces it."""
    _sources[name] = source


def training_sources() -> dict[str, TrainingSource]:
    return dict(_sources)


def training_items_collect(*, source: str = "clinic") -> list[TrainingItem]:
    """Items of one registered source, or of every registered source for ``"clinic"``."""
    if source == "clinic":
        names = sorted(_sources)
    elif source in _sources:
        names = [source]
    else:
        raise LookupError(f"No training source named {source!r} (known: {', '.join(sorted(_sources)) or 'none'})")
    items: list[TrainingItem] = []
    for name in names:
        items.extend(_sources[name]())
    return [item for item in items if item.label in CLASSES]


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_items(root: str | Path, *, with_sha256: bool = False) -> list[TrainingItem]:
    """Labelled images under ``root``: ``CLASS/*``, ``train|val|test/CLASS/*`` or the Kermany tree.

    The class is the nearest parent folder named like a class; a ``train``/``val``/``test`` folder above it
    fixes the split. The group is the Kermany patient id where the file name has one, else None.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    items = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        parts = list(path.relative_to(root).parts[:-1])
        label = next((p.upper() for p in reversed(parts) if p.upper() in CLASSES), None)
        if label is None:
            continue
        split = next((SPLIT_FOLDERS[p.lower()] for p in parts if p.lower() in SPLIT_FOLDERS), None)
        match = KERMANY_NAME.match(path.stem)
        relative = str(path.relative_to(root))
        items.append(
            TrainingItem(
                key=f"folder:{relative}",
                label=label,
                load=path.read_bytes,
                group=f"kermany:{match.group(2)}" if match else None,
                sha256=_file_sha256(path) if with_sha256 else "",
                provenance=relative,
                split=split,
                extra={"path": str(path)},
            )
        )
    if not items:
        raise ValueError(f"No labelled images under {root} (expected CLASS/* or train|val|test/CLASS/*)")
    return items
