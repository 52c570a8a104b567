"""Recognising how a labelled dataset is laid out.

Three layouts are understood, possibly wrapped in one top folder (``OCT2017/…``):

* ``CLASS/image``                      — label from the folder
* ``train|val|test/CLASS/image``       — the Kermany OCT2017 layout, split kept
* ``labels.csv`` (``image,label[,split]``) next to the images — label from the table

Kermany file names (``CNV-1016042-1.jpeg``) encode the source patient id; it is kept so training
can split by patient and never leak one patient across train and test.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .archives import Member
from .errors import IntakeError

SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,63}$")
# CLASS-PATIENT-N.jpeg, also behind a copy prefix some republished sets add ("29abb561_CNV-53018-2.jpeg").
KERMANY_NAME_RE = re.compile(r"(?:^|_)(?P<label>[A-Za-z]+)-(?P<patient>\d+)-(?P<index>\d+)\.[A-Za-z]+$")
LABELS_CSV = "labels.csv"


@dataclass(frozen=True)
class DatasetItem:
    member: Member
    label: str
    split: str = ""
    source_patient_id: str = ""


@dataclass
class DatasetPlan:
    layout: str
    items: list[DatasetItem] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def source_patient_id(file_name: str) -> str:
    match = KERMANY_NAME_RE.search(PurePosixPath(file_name).name)
    return match.group("patient") if match else ""


def _strip_wrapper(members: list[Member]) -> str:
    """The common top folder(s) to ignore, e.g. ``OCT2017/``; '' when there is none."""
    prefix = ""
    paths = [m.path for m in members]
    while paths:
        firsts = {p.split("/", 1)[0] for p in paths}
        if len(firsts) != 1 or any("/" not in p for p in paths):
            break
        rest = [p.split("/", 1)[1] for p in paths]
        top = firsts.pop()
        if top.lower() in SPLITS:
            break
        has_csv = LABELS_CSV in rest
        if not has_csv and any(r.count("/") < 1 for r in rest):
            break  # stripping would remove the CLASS folder itself
        prefix += top + "/"
        paths = rest
        if has_csv:
            break
    return prefix


def dataset_plan(members: list[Member], read: Callable[[Member], bytes]) -> DatasetPlan:
    prefix = _strip_wrapper(members)
    relative = {m.path[len(prefix) :]: m for m in members}
    if LABELS_CSV in relative:
        return _csv_plan(relative, read)
    plan = DatasetPlan(layout="folders")
    saw_split = False
    for path, member in relative.items():
        parts = path.split("/")
        if len(parts) == 3 and parts[0].lower() in SPLITS:
            saw_split = True
            split, label = SPLITS[parts[0].lower()], parts[1]
        elif len(parts) == 2:
            split, label = "", parts[0]
        else:
            plan.problems.append((member.path, "is not inside a CLASS folder (or train|val|test/CLASS)"))
            continue
        if not LABEL_RE.match(label):
            plan.problems.append((member.path, "its folder name is not a usable label"))
            continue
        plan.items.append(
            DatasetItem(member=member, label=label, split=split, source_patient_id=source_patient_id(path))
        )
    plan.layout = "split/class folders" if saw_split else "class folders"
    return plan


def _csv_plan(relative: dict[str, Member], read: Callable[[Member], bytes]) -> DatasetPlan:
    plan = DatasetPlan(layout="labels.csv")
    csv_member = relative.pop(LABELS_CSV)
    try:
        text = read(csv_member).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IntakeError("labels.csv is not UTF-8 text", file_name=csv_member.path) from exc
    except IntakeError as exc:
        raise IntakeError(exc.reason, file_name=csv_member.path) from exc
    reader = csv.DictReader(io.StringIO(text))
    columns = {(name or "").strip().lower(): name for name in (reader.fieldnames or [])}
    if "image" not in columns or "label" not in columns:
        raise IntakeError("labels.csv needs a header with the columns image and label", file_name=csv_member.path)
    listed: set[str] = set()
    for line, row in enumerate(reader, start=2):
        image = (row.get(columns["image"]) or "").strip().lstrip("./")
        label = (row.get(columns["label"]) or "").strip()
        split_raw = (row.get(columns["split"]) or "").strip().lower() if "split" in columns else ""
        if not image:
            plan.problems.append((f"labels.csv line {line}", "has no image name"))
            continue
        listed.add(image)
        member = relative.get(image)
        if member is None:
            plan.problems.append((image, f"is listed in labels.csv (line {line}) but not found"))
        elif not LABEL_RE.match(label):
            plan.problems.append((image, f"has no usable label in labels.csv (line {line})"))
        elif split_raw and split_raw not in SPLITS:
            plan.problems.append((image, f"has an unknown split in labels.csv (line {line})"))
        else:
            plan.items.append(
                DatasetItem(
                    member=member,
                    label=label,
                    split=SPLITS.get(split_raw, ""),
                    source_patient_id=source_patient_id(image),
                )
            )
    for path, member in relative.items():
        if path not in listed:
            plan.problems.append((member.path, "is not listed in labels.csv"))
    return plan
