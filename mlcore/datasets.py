"""Dataset snapshots: which items, which labels, which split, under a content hash.

Splits are by *group* (patient): a group's bucket comes from a hash of its key, so a patient never straddles
two splits and keeps its split as the data grows; the test split is therefore frozen across retrainings,
which is what lets the gate compare a candidate and the deployed model fairly. Within each class the hash
buckets are stratified (groups of a class are ordered by hash and cut at the split fractions), and a class
with enough groups always gets at least one in validation and in test. Items without a group (no patient
known) train only: putting them in validation or test could leak a patient across splits.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence

from mlcore.labels import CLASSES
from mlcore.models import TrainingDataset
from mlcore.training_sources import TrainingItem

SPLITS = ("train", "validation", "test")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def groups_split(items: Sequence[TrainingItem], *, validation: float = 0.15, test: float = 0.15) -> dict[str, str]:
    """{item key: split}. Source-imposed splits win; otherwise stratified by the group's majority class."""
    assignment: dict[str, str] = {}
    group_labels: dict[str, Counter] = defaultdict(Counter)
    for item in items:
        if item.split:
            assignment[item.key] = item.split
        elif item.group is None:
            assignment[item.key] = "train"
        else:
            group_labels[item.group][item.label] += 1
    by_class: dict[str, list[str]] = defaultdict(list)
    for group, counts in group_labels.items():
        # A patient with two diagnoses is stratified by the diagnosis most of their images show.
        label = max(sorted(counts), key=lambda c: counts[c])
        by_class[label].append(group)
    group_split: dict[str, str] = {}
    for groups in by_class.values():
        ordered = sorted(groups, key=_hash)
        n = len(ordered)
        n_test = round(n * test) if n >= 3 else 0
        n_val = round(n * validation) if n >= 3 else 0
        if n >= 3:
            n_test, n_val = max(n_test, 1), max(n_val, 1)
        for i, group in enumerate(ordered):
            group_split[group] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    for item in items:
        if item.key not in assignment:
            assignment[item.key] = group_split[item.group]
    return assignment


def class_weights_of(labels: Sequence[str]) -> dict[str, float]:
    """Inverse-frequency weights (n / (k * n_c)), so each class carries the same total weight in the loss."""
    counts = Counter(labels)
    total = sum(counts.values())
    return {c: round(total / (len(CLASSES) * counts[c]), 4) if counts.get(c) else 0.0 for c in CLASSES}


def dataset_snapshot_create(
    *, items: Sequence[TrainingItem], source: str, validation: float = 0.15, test: float = 0.15
) -> TrainingDataset:
    """Record the snapshot; the content hash covers keys, labels, splits and (where known) image checksums."""
    if not items:
        raise ValueError("No labelled images to train on")
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError("Training items must have unique keys")
    assignment = groups_split(items, validation=validation, test=test)
    rows = [
        {
            "key": item.key,
            "label": item.label,
            "group": item.group,
            "split": assignment[item.key],
            "sha256": item.sha256,
            "provenance": item.provenance,
        }
        for item in sorted(items, key=lambda i: i.key)
    ]
    counts = {s: dict.fromkeys(CLASSES, 0) for s in SPLITS}
    groups = {s: set() for s in SPLITS}
    for row in rows:
        counts[row["split"]][row["label"]] += 1
        if row["group"]:
            groups[row["split"]].add(row["group"])
    content_hash = _hash(json.dumps([(r["key"], r["label"], r["split"], r["sha256"]) for r in rows]))
    return TrainingDataset.objects.create(
        source=source,
        content_hash=content_hash,
        items=rows,
        class_counts=counts,
        class_weights=class_weights_of([r["label"] for r in rows if r["split"] == "train"]),
        groups={s: len(g) for s, g in groups.items()}
        | {"train_without_group": sum(1 for r in rows if r["group"] is None)},
    )


def dataset_split_items(*, dataset: TrainingDataset, items: Sequence[TrainingItem], split: str) -> list[TrainingItem]:
    """The live items (with loaders) that the snapshot put in ``split``; missing ones are an error."""
    by_key = {item.key: item for item in items}
    wanted = [row for row in dataset.items if row["split"] == split]
    missing = [row["key"] for row in wanted if row["key"] not in by_key]
    if missing:
        raise LookupError(f"{len(missing)} items of dataset #{dataset.pk} are gone (first: {missing[0]})")
    return [by_key[row["key"]] for row in wanted]
