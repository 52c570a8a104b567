"""Scoring a model on labelled images: the report every version gets, and what the promotion gate compares.

Pure NumPy (no scikit-learn here); pictures are drawn with Pillow so the report needs no plotting stack.
Urgent referral = CNV or DME (Kermany et al. 2018): its sensitivity is the number that protects patients.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mlcore.labels import CLASSES, URGENCY_BY_LABEL, Urgency

URGENT = [i for i, c in enumerate(CLASSES) if URGENCY_BY_LABEL[c] == Urgency.URGENT]
ECE_BINS = 10


def _auc(scores: np.ndarray, positives: np.ndarray) -> float | None:
    """One-vs-rest ROC AUC via the Mann-Whitney rank statistic (ties get average ranks)."""
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = ECE_BINS) -> list[dict]:
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (confidence > lo) & (confidence <= hi) if lo > 0 else (confidence >= lo) & (confidence <= hi)
        n = int(mask.sum())
        rows.append(
            {
                "low": float(lo),
                "high": float(hi),
                "n": n,
                "confidence": float(confidence[mask].mean()) if n else None,
                "accuracy": float(correct[mask].mean()) if n else None,
            }
        )
    return rows


def metrics_compute(probabilities: np.ndarray, labels: Sequence[int] | np.ndarray) -> dict:
    """Every figure of the evaluation report, JSON-serialisable. ``labels`` are class indices."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    predicted = probabilities.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    k = len(CLASSES)
    confusion = np.zeros((k, k), dtype=np.int64)
    for truth, guess in zip(labels, predicted, strict=True):
        confusion[truth, guess] += 1
    per_class = {}
    for i, name in enumerate(CLASSES):
        tp = int(confusion[i, i])
        fp = int(confusion[:, i].sum() - tp)
        fn = int(confusion[i, :].sum() - tp)
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall
            else (0.0 if precision is not None and recall is not None else None)
        )
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(confusion[i, :].sum()),
            "auc": _auc(probabilities[:, i], labels == i) if n else None,
        }
    urgent_truth = np.isin(labels, URGENT)
    urgent_guess = np.isin(predicted, URGENT)
    bins = reliability_bins(probabilities, labels) if n else []
    ece = sum(b["n"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins if b["n"]) if n else None
    f1s = [v["f1"] for v in per_class.values() if v["f1"] is not None]
    return {
        "n": int(n),
        "accuracy": float((predicted == labels).mean()) if n else None,
        "macro_f1": float(np.mean(f1s)) if f1s else None,
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "classes": list(CLASSES),
        "urgent_sensitivity": _ratio(int((urgent_truth & urgent_guess).sum()), int(urgent_truth.sum())),
        "urgent_specificity": _ratio(int((~urgent_truth & ~urgent_guess).sum()), int((~urgent_truth).sum())),
        "ece": float(ece) if ece is not None else None,
        "reliability": bins,
    }


# --- Pictures -------------------------------------------------------------------------------------------


def _font():
    return ImageFont.load_default()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def confusion_matrix_png(confusion: Sequence[Sequence[int]], *, classes: Sequence[str] = CLASSES) -> bytes:
    """Rows: true class; columns: predicted. Cell shade = share of the row, so scarce classes read too."""
    matrix = np.asarray(confusion, dtype=np.float64)
    cell, margin = 70, 90
    k = len(classes)
    image = Image.new("RGB", (margin + k * cell + 10, margin + k * cell + 10), "white")
    draw = ImageDraw.Draw(image)
    font = _font()
    draw.text((margin, 8), "predicted (columns)", fill="black", font=font)
    draw.text((4, margin - 20), "true (rows)", fill="black", font=font)
    for j, name in enumerate(classes):
        draw.text((margin + j * cell + 6, margin - 30), name, fill="black", font=font)
        draw.text((6, margin + j * cell + cell // 2 - 6), name, fill="black", font=font)
    for i in range(k):
        total = matrix[i].sum()
        for j in range(k):
            share = matrix[i, j] / total if total else 0.0
            shade = int(255 - 200 * share)
            box = (margin + j * cell, margin + i * cell, margin + (j + 1) * cell - 2, margin + (i + 1) * cell - 2)
            draw.rectangle(box, fill=(shade, shade, 255), outline="gray")
            color = "white" if share > 0.6 else "black"
            draw.text((box[0] + 8, box[1] + cell // 2 - 10), f"{int(matrix[i, j])}", fill=color, font=font)
            draw.text((box[0] + 8, box[1] + cell // 2 + 4), f"{share:.0%}", fill=color, font=font)
    return _png(image)


def reliability_png(bins: Sequence[dict], *, ece: float | None = None) -> bytes:
    """Accuracy per confidence bin against the diagonal (perfect calibration); bar width = bin."""
    size, margin = 320, 40
    image = Image.new("RGB", (size + 2 * margin, size + 2 * margin), "white")
    draw = ImageDraw.Draw(image)
    font = _font()

    def xy(x: float, y: float) -> tuple[float, float]:
        return margin + x * size, margin + (1 - y) * size

    for b in bins:
        if b["n"] and b["accuracy"] is not None:
            draw.rectangle((*xy(b["low"], b["accuracy"]), *xy(b["high"], 0)), fill=(120, 150, 230), outline="white")
    draw.rectangle((*xy(0, 1), *xy(1, 0)), outline="black")
    draw.line((*xy(0, 0), *xy(1, 1)), fill="red", width=2)
    draw.text((margin, size + margin + 8), "confidence (predicted class)", fill="black", font=font)
    draw.text((4, 12), "accuracy per bin; red: perfect calibration", fill="black", font=font)
    if ece is not None:
        draw.text((margin + 8, margin + 6), f"ECE {ece:.3f}", fill="black", font=font)
    return _png(image)


# --- Scoring a Keras model ------------------------------------------------------------------------------


def model_probabilities(*, model, temperature: float, items, batch_size: int = 16) -> np.ndarray:
    """Calibrated probabilities of ``model`` on items, through the training pipeline without augmentation."""
    from mlcore.calibration import softmax
    from mlcore.training import items_dataset_build

    if not items:
        return np.zeros((0, len(CLASSES)))
    size = int(model.inputs[0].shape[1])
    dataset = items_dataset_build(items, input_size=size, batch_size=batch_size, labels=False, cache=False)
    return softmax(model.predict(dataset, verbose=0), temperature=temperature)


def model_evaluate(*, model, temperature: float, items, batch_size: int = 16) -> dict:
    probabilities = model_probabilities(model=model, temperature=temperature, items=items, batch_size=batch_size)
    return metrics_compute(probabilities, [CLASSES.index(item.label) for item in items])


def report_text(metrics: dict) -> str:
    """The human-readable form of a report (``evaluate_model`` without ``--json``)."""

    def pct(value):
        return "n/a" if value is None else f"{value:.3f}"

    lines = [
        f"images: {metrics['n']}",
        f"accuracy: {pct(metrics['accuracy'])}   macro F1: {pct(metrics.get('macro_f1'))}",
        f"urgent referral (CNV+DME): sensitivity {pct(metrics['urgent_sensitivity'])}, "
        f"specificity {pct(metrics['urgent_specificity'])}",
        f"expected calibration error: {pct(metrics['ece'])}",
        "",
        f"{'class':8} {'precision':>9} {'recall':>7} {'F1':>6} {'AUC':>6} {'n':>5}",
    ]
    for name, row in metrics["per_class"].items():
        lines.append(
            f"{name:8} {pct(row['precision']):>9} {pct(row['recall']):>7} {pct(row['f1']):>6} "
            f"{pct(row['auc']):>6} {row['support']:>5}"
        )
    lines += ["", "confusion matrix (rows true, columns predicted): " + " ".join(CLASSES)]
    for name, row in zip(CLASSES, metrics["confusion_matrix"], strict=True):
        lines.append(f"{name:8} " + " ".join(f"{v:>6}" for v in row))
    return "\n".join(lines)
