"""Model-quality benchmark: patient-grouped cross-validation of ``train_model``'s default recipe on real B-scans.

Run: ``.venv/bin/python bench/bench_model_quality.py`` (5 folds, seed 0; ``--seeds 0,1,2`` for the seed
spread, ``--folds 0`` while iterating). Needs ``../shared/oct``; says so and exits 0 where it is absent.

Protocol (issue #14), so that figures stay honest and comparable:

* the folds are ``../shared/oct/folds.csv``: every Kermany image in one of 5 folds, grouped by patient;
* for test fold k, training uses the other four folds plus ``c8-extra`` (no patient ids: training only);
  15 % of the training folds' *patients* (fixed by a hash of the patient id) are the validation split, which is
  all that early choices, the calibration temperature and the deferral threshold ever see;
* the recipe, input size and epochs are ``TrainingParams.defaults()`` (what ``manage.py train_model`` uses),
  chosen on fold-0 validation figures, never on a test fold;
* each test fold is scored once: accuracy, per-class recall, urgent-referral (CNV + DME) sensitivity and
  specificity, ECE of the calibrated probabilities, coverage and accuracy of the readings kept at the deferral
  threshold, how many test scans the OCT check accepts, and where the Grad-CAM peak of CNV/DME/DRUSEN scans
  lies (inside the retina crop's band or not);
* device shift (issue #15): each test fold is scored again with every scan re-rendered as another OCT device
  would produce it (``mlcore.device_shift.RENDITIONS``: a retina crop resized to 880x320, lateral compression
  x3, gamma 0.6 and 1.6, heavy speckle, lower resolution, JPEG q60, an RGB colour map); accuracy and urgent
  sensitivity/specificity per rendition beside the unshifted figure, and the drop in points.

Prints one row per fold and seed, then mean +- sd per seed and over all runs, with the targets' verdicts;
``--json PATH`` writes everything.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "octclinic.settings")
SHARED_OCT = ROOT.parent / "shared" / "oct"

TARGETS = {
    "accuracy_mean": 0.90,
    "accuracy_min": 0.85,
    "urgent_sensitivity": 0.97,
    "urgent_specificity": 0.90,
    "ece": 0.05,
    "accuracy_kept": 0.97,
    "seed_spread": 0.02,
    "shift_max_drop": 0.05,  # issue #15: no device rendition costs more than 5 points of accuracy or urgent spec.
}


def fold_items():
    """(kermany items with fold, c8-extra items): TrainingItems whose group is the patient id."""
    from mlcore.training_sources import TrainingItem

    def item(path: Path, label: str, group: str | None, fold: int | None) -> TrainingItem:
        return TrainingItem(
            key=str(path.relative_to(SHARED_OCT)),
            label=label,
            load=path.read_bytes,
            group=group,
            extra={"fold": fold},
        )

    with (SHARED_OCT / "folds.csv").open() as handle:
        kermany = [
            item(SHARED_OCT / row["path"], row["label"], row["patient_id"], int(row["fold"]))
            for row in csv.DictReader(handle)
        ]
    extra = [
        item(path, path.parent.name, None, None)
        for path in sorted((SHARED_OCT / "c8-extra").glob("*/*"))
        if path.suffix.lower() in (".jpg", ".jpeg", ".png")
    ]
    return kermany, extra


def split_for(test_fold: int, kermany, extra, *, validation_share: float = 0.15):
    from mlcore.training import patient_split_of

    test = [i for i in kermany if i.extra["fold"] == test_fold]
    rest = [i for i in kermany if i.extra["fold"] != test_fold]
    validation = [i for i in rest if patient_split_of(i.group, validation=validation_share, test=0.0) != "train"]
    train = [i for i in rest if i not in validation] + list(extra)
    return train, validation, test


def _retina_peak_share(model, temperature, items, input_size) -> dict:
    """Where the heatmap of CNV/DME/DRUSEN test scans points: is its peak within the retina band, is it flat.

    The band is the located centre line (``mlcore.retina``) +-12 % of the original height (a Spectralis retina
    spans about that around its bright centre line), widened by half a map cell. Every map counts; one whose
    peak is under 1.5x its mean is also counted as "uniform" (it points nowhere in particular).
    """
    import numpy as np

    from mlcore.architecture import serving_function_build
    from mlcore.gradcam import heatmap_from_cam
    from mlcore.preprocessing import image_prepare

    del temperature  # the argmax, not the calibrated probability, picks the class explained
    serve = serving_function_build(model)
    inside = uniform = total = 0
    for item in items:
        if item.label == "NORMAL":
            continue
        prepared = image_prepare(item.load(), input_size=input_size)
        out = serve(prepared.tensor[np.newaxis])
        logits, cams = out["logits"].numpy()[0], out["cams"].numpy()[0]
        heat = heatmap_from_cam(cams[..., int(np.argmax(logits))])
        total += 1
        if heat.max() <= 0:
            uniform += 1
            continue
        if heat.max() < 1.5 * heat.mean():
            uniform += 1
        row, col = np.unravel_index(int(np.argmax(heat)), heat.shape)
        left, top, right, bottom = prepared.box
        x = left + (col + 0.5) / heat.shape[1] * (right - left)
        y = top + (row + 0.5) / heat.shape[0] * (bottom - top)
        centre = float(prepared.retina.centre_at(x))
        if abs(y - centre) <= 0.12 * prepared.size[1] + 0.5 * (bottom - top) / heat.shape[0]:
            inside += 1
    return {"n": total, "inside": inside, "uniform": uniform, "share_inside": inside / total if total else None}


def gradcam_of_version(version: str) -> dict:
    """The heatmap measure on a registered version's own held-out test split (``--gradcam-version``)."""
    from mlcore.artifacts import keras_model_load, model_card_load
    from mlcore.datasets import dataset_split_items
    from mlcore.models import TrainingRun
    from mlcore.services import training_items_for

    card = model_card_load(version=version)
    run = TrainingRun.objects.select_related("dataset").get(model_version__version=version)
    test = dataset_split_items(dataset=run.dataset, items=training_items_for(run.params["data"]), split="test")
    result = _retina_peak_share(keras_model_load(card=card), card.temperature, test, card.input_size)
    print(
        f"heatmaps of {version} on its test split: peak inside the retina {result['inside']}/{result['n']} "
        f"({result['share_inside']:.3f}); uniform {result['uniform']}"
    )
    return result


def oct_check_report(*, per_kind: int = 30, packages: int = 40) -> dict:
    """The OCT check on every real B-scan of ../shared/oct, on them re-rendered as other devices would, and on
    the non-OCT corpus (``bench/nonoct_corpus.py``, a seed the thresholds never saw)."""
    from collections import Counter

    import numpy as np
    from PIL import Image

    from bench.nonoct_corpus import nonoct_corpus
    from mlcore.oct_check import oct_check

    paths = sorted(p for p in SHARED_OCT.glob("*/*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    started = time.perf_counter()
    refused_real = [p.name for p in paths if not oct_check(p.read_bytes()).recognised]
    ms_per_image = (time.perf_counter() - started) * 1000 / max(len(paths), 1)
    from mlcore.device_shift import RENDITIONS

    sample = paths[::10]
    shift_accepted = {}
    for name, render in RENDITIONS.items():
        grays = (np.asarray(Image.open(p).convert("L")) for p in sample)
        shift_accepted[name] = sum(oct_check(render(g)).recognised for g in grays)
    corpus = nonoct_corpus(per_kind=per_kind, packages=packages, seed=2026)
    refused = Counter(kind for kind, data in corpus if not oct_check(data).recognised)
    kinds = Counter(kind for kind, _ in corpus)
    print(
        f"OCT check: real B-scans accepted {len(paths) - len(refused_real)}/{len(paths)} ({ms_per_image:.1f} ms each)"
    )
    for name, accepted in shift_accepted.items():
        print(f"  re-rendered as another device ({name}): accepted {accepted}/{len(sample)}")
    total_refused = sum(refused.values())
    print(f"  non-OCT corpus refused {total_refused}/{len(corpus)} ({total_refused / len(corpus):.3f}):")
    print("   " + ", ".join(f"{kind} {refused[kind]}/{n}" for kind, n in sorted(kinds.items())))
    return {
        "real_accepted": len(paths) - len(refused_real),
        "real_total": len(paths),
        "real_refused": refused_real,
        "shift_accepted": shift_accepted,
        "shift_sample": len(sample),
        "nonoct_refused": total_refused,
        "nonoct_total": len(corpus),
        "nonoct_by_kind": {kind: [refused[kind], n] for kind, n in kinds.items()},
        "ms_per_image": ms_per_image,
    }


def device_shift_scores(*, model, temperature, test, input_size) -> dict:
    """The fold's test scans re-rendered as other devices would (``RENDITIONS``), scored like the originals."""
    import dataclasses

    import numpy as np

    from mlcore.device_shift import RENDITIONS
    from mlcore.evaluation import metrics_compute, model_probabilities
    from mlcore.labels import CLASSES
    from mlcore.oct_check import oct_check
    from mlcore.preprocessing import image_decode_gray

    labels = np.array([CLASSES.index(i.label) for i in test])
    grays = [np.asarray(image_decode_gray(i.load()), dtype=np.uint8) for i in test]
    scores = {}
    for name, render in RENDITIONS.items():
        rendered = [render(gray) for gray in grays]
        items = [
            dataclasses.replace(item, load=lambda image=image: image)
            for item, image in zip(test, rendered, strict=True)
        ]
        probs = model_probabilities(model=model, temperature=temperature, items=items)
        metrics = metrics_compute(probs, labels)
        scores[name] = {
            "accuracy": metrics["accuracy"],
            "urgent_sensitivity": metrics["urgent_sensitivity"],
            "urgent_specificity": metrics["urgent_specificity"],
            "oct_accepted": int(sum(oct_check(image).recognised for image in rendered)),
        }
        print(
            f"    {name}: accuracy {_fmt(metrics['accuracy'])}, urgent sens/spec "
            f"{_fmt(metrics['urgent_sensitivity'])}/{_fmt(metrics['urgent_specificity'])}",
            flush=True,
        )
    return scores


def run_fold(*, fold: int, seed: int, kermany, extra, params, gradcam: bool, shift: bool = True) -> dict:
    import numpy as np

    from mlcore.deferral import deferral_fit, selective_scores
    from mlcore.evaluation import metrics_compute, model_probabilities
    from mlcore.labels import CLASSES
    from mlcore.oct_check import oct_check
    from mlcore.training import device_shift_of, model_train_items, recipe_of

    train, validation, test = split_for(fold, kermany, extra)
    started = time.monotonic()
    result = model_train_items(
        train_items=train,
        validation_items=validation,
        input_size=params.input_size,
        base_weights=None,
        epochs=params.epochs,
        batch_size=params.batch_size,
        learning_rate=params.learning_rate,
        augment=params.augment,
        seed=seed,
        recipe=recipe_of(params),
        device_shift=device_shift_of(params),
        on_epoch=lambda p: print(
            f"    epoch {p.epoch}/{p.epochs} loss {p.loss:.3f} "
            + " ".join(f"{k} {v:.3f}" for k, v in p.metrics.items())
            + f" {p.seconds:.0f}s",
            flush=True,
        ),
    )
    minutes = (time.monotonic() - started) / 60
    val_labels = np.array([CLASSES.index(i.label) for i in validation])
    val_probs = model_probabilities(model=result.model, temperature=result.temperature, items=validation)
    deferral = deferral_fit(val_probs, val_labels)
    test_labels = np.array([CLASSES.index(i.label) for i in test])
    probs = model_probabilities(model=result.model, temperature=result.temperature, items=test)
    metrics = metrics_compute(probs, test_labels)
    selective = selective_scores(probs, test_labels, threshold=deferral["threshold"])
    accepted = sum(oct_check(i.load()).recognised for i in test)
    row = {
        "fold": fold,
        "seed": seed,
        "n_train": len(train),
        "n_validation": len(validation),
        "n_test": len(test),
        "accuracy": metrics["accuracy"],
        "recall": {c: metrics["per_class"][c]["recall"] for c in CLASSES},
        "urgent_sensitivity": metrics["urgent_sensitivity"],
        "urgent_specificity": metrics["urgent_specificity"],
        "ece": metrics["ece"],
        "temperature": result.temperature,
        "deferral_threshold": deferral["threshold"],
        "validation_coverage": deferral["validation_coverage"],
        "coverage": selective["coverage"],
        "accuracy_kept": selective["accuracy_kept"],
        "oct_accepted": accepted,
        "minutes": minutes,
        "history": result.history,
    }
    if gradcam:
        row["gradcam"] = _retina_peak_share(result.model, result.temperature, test, params.input_size)
    if shift:
        row["device_shift"] = device_shift_scores(
            model=result.model, temperature=result.temperature, test=test, input_size=params.input_size
        )
    return row


def _fmt(value, digits=3):
    return "  -  " if value is None else f"{value:.{digits}f}"


def _mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def table_print(rows: list[dict]) -> dict:
    from mlcore.labels import CLASSES

    header = (
        f"{'seed':>4} {'fold':>4} {'n':>4} {'acc':>6} "
        + " ".join(f"{c[:4]:>5}" for c in CLASSES)
        + f" {'u.sens':>6} {'u.spec':>6} {'ECE':>6} {'cover':>6} {'acc@kept':>8} {'OCTok':>6} {'CAMin':>6} {'min':>5}"
    )
    print(header)
    for r in rows:
        cam = r.get("gradcam", {}).get("share_inside")
        print(
            f"{r['seed']:>4} {r['fold']:>4} {r['n_test']:>4} {_fmt(r['accuracy']):>6} "
            + " ".join(f"{_fmt(r['recall'][c], 2):>5}" for c in CLASSES)
            + f" {_fmt(r['urgent_sensitivity']):>6} {_fmt(r['urgent_specificity']):>6} {_fmt(r['ece']):>6}"
            f" {_fmt(r['coverage']):>6} {_fmt(r['accuracy_kept']):>8} {r['oct_accepted']:>3}/{r['n_test']:<3}"
            f" {_fmt(cam, 2):>5} {r['minutes']:>5.1f}"
        )
    summary = {}
    for key in ("accuracy", "urgent_sensitivity", "urgent_specificity", "ece", "coverage", "accuracy_kept"):
        summary[key] = _mean_sd([r[key] for r in rows])
    per_seed = {}
    for seed in sorted({r["seed"] for r in rows}):
        per_seed[seed] = _mean_sd([r["accuracy"] for r in rows if r["seed"] == seed])[0]
    print()
    for key, (mean, sd) in summary.items():
        print(f"  {key:<20} {_fmt(mean)} +- {_fmt(sd)}")
    accuracies = [r["accuracy"] for r in rows]
    seed_means = list(per_seed.values())
    verdicts = {
        "mean CV accuracy >= 0.90": summary["accuracy"][0] >= TARGETS["accuracy_mean"],
        "no fold below 0.85": min(accuracies) >= TARGETS["accuracy_min"],
        "urgent sensitivity >= 0.97": summary["urgent_sensitivity"][0] >= TARGETS["urgent_sensitivity"],
        "urgent specificity >= 0.90": summary["urgent_specificity"][0] >= TARGETS["urgent_specificity"],
        "ECE <= 0.05": summary["ece"][0] <= TARGETS["ece"],
        "accuracy of kept readings >= 0.97": (summary["accuracy_kept"][0] or 0) >= TARGETS["accuracy_kept"],
    }
    if len(seed_means) > 1:
        verdicts["seeds within 2 points"] = max(seed_means) - min(seed_means) <= TARGETS["seed_spread"]
    cams = [r["gradcam"] for r in rows if "gradcam" in r]
    if cams:
        inside = sum(c["inside"] for c in cams)
        total = sum(c["n"] for c in cams)
        uniform = sum(c["uniform"] for c in cams)
        print(f"  Grad-CAM peak inside the retina: {inside}/{total} ({inside / max(total, 1):.3f}); uniform {uniform}")
    shift_summary = shift_table_print(rows)
    for name, entry in shift_summary.items():
        verdicts[f"{name}: at most 5 points lost"] = entry["ok"]
    accepted = sum(r["oct_accepted"] for r in rows)
    tested = sum(r["n_test"] for r in rows)
    print(f"  OCT check accepted {accepted}/{tested} test scans")
    print(f"  accuracy per seed: {', '.join(f'{s}: {_fmt(m)}' for s, m in per_seed.items())}")
    print()
    for name, ok in verdicts.items():
        print(f"  {'MET ' if ok else 'MISS'} {name}")
    return {"summary": summary, "per_seed": per_seed, "verdicts": verdicts, "device_shift": shift_summary}


def shift_table_print(rows: list[dict]) -> dict:
    """Mean over folds of each device rendition beside the unshifted figure, with the drop in points."""
    shifted_rows = [r for r in rows if r.get("device_shift")]
    if not shifted_rows:
        return {}
    keys = ("accuracy", "urgent_sensitivity", "urgent_specificity")
    base = {k: _mean_sd([r[k] for r in shifted_rows])[0] for k in keys}
    print()
    print(f"  {'device rendition':<30} {'acc':>6} {'Δacc':>6} {'u.sens':>6} {'u.spec':>6} {'Δspec':>6} {'OCTok':>6}")
    print(
        f"  {'(unshifted)':<30} {_fmt(base['accuracy']):>6} {'':>6} {_fmt(base['urgent_sensitivity']):>6}"
        f" {_fmt(base['urgent_specificity']):>6}"
    )
    summary = {}
    names = list(shifted_rows[0]["device_shift"])
    tested = sum(r["n_test"] for r in shifted_rows)
    for name in names:
        mean = {
            k: _mean_sd([r["device_shift"][name][k] for r in shifted_rows])[0]
            for k in ("accuracy", "urgent_sensitivity", "urgent_specificity")
        }
        accepted = sum(r["device_shift"][name]["oct_accepted"] for r in shifted_rows)
        drop_acc = base["accuracy"] - mean["accuracy"]
        drop_spec = (base["urgent_specificity"] or 0) - (mean["urgent_specificity"] or 0)
        ok = drop_acc <= TARGETS["shift_max_drop"] and drop_spec <= TARGETS["shift_max_drop"]
        summary[name] = {
            **mean,
            "drop_accuracy": drop_acc,
            "drop_specificity": drop_spec,
            "ok": ok,
            "oct_accepted": accepted,
            "n": tested,
        }
        print(
            f"  {name:<30} {_fmt(mean['accuracy']):>6} {-drop_acc:>+6.3f} {_fmt(mean['urgent_sensitivity']):>6}"
            f" {_fmt(mean['urgent_specificity']):>6} {-drop_spec:>+6.3f} {accepted:>5}/{tested}"
            f"  {'MET' if ok else 'MISS'}"
        )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--no-gradcam", action="store_true")
    parser.add_argument("--no-shift", action="store_true", help="skip the device-shift renditions of each test fold")
    parser.add_argument("--oct-check-only", action="store_true", help="measure the OCT check alone; no training")
    parser.add_argument("--gradcam-version", help="measure the heatmaps of a registered version on its test split")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--from-json", type=Path, help="print (and --record) a finished run's JSON; trains nothing")
    parser.add_argument(
        "--record",
        action="store_true",
        help="store the result as the recipe's cross-validation report (mlcore/quality/), shown on model cards",
    )
    args = parser.parse_args()
    if not (SHARED_OCT / "folds.csv").is_file():
        print(f"SKIPPED: {SHARED_OCT}/folds.csv is absent (a fresh clone without ../shared): nothing to measure")
        return 0
    import django

    django.setup()
    import dataclasses

    from mlcore.training_params import TrainingParams

    params = TrainingParams.defaults()
    overrides = {
        "epochs": args.epochs,
        "input_size": args.image_size,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
    }
    params = dataclasses.replace(params, **{k: v for k, v in overrides.items() if v is not None})
    if args.gradcam_version:
        gradcam_of_version(args.gradcam_version)
        return 0
    if args.oct_check_only:
        oct_check_report()
        return 0
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        params = TrainingParams(**saved["params"])
        rows = saved["rows"]
        result = table_print(rows)
        if args.record:
            report_record(rows=rows, result=result, params=params)
        return 0
    check = oct_check_report()
    kermany, extra = fold_items()
    print(f"recipe: {json.dumps(params.as_dict())}")
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for fold in [int(f) for f in args.folds.split(",")]:
            row = run_fold(
                fold=fold,
                seed=seed,
                kermany=kermany,
                extra=extra,
                params=params,
                gradcam=not args.no_gradcam,
                shift=not args.no_shift,
            )
            rows.append(row)
            print(
                f"  seed {seed} fold {fold}: accuracy {_fmt(row['accuracy'])}, urgent sens/spec "
                f"{_fmt(row['urgent_sensitivity'])}/{_fmt(row['urgent_specificity'])}, {row['minutes']:.1f} min",
                flush=True,
            )
            if args.json:
                args.json.write_text(json.dumps({"params": params.as_dict(), "rows": rows}, indent=1))
    print()
    result = table_print(rows)
    result["oct_check"] = check
    if args.record:
        report_record(rows=rows, result=result, params=params)
    if args.json:
        args.json.write_text(json.dumps({"params": params.as_dict(), "rows": rows, **result}, indent=1, default=str))
    return 0


def report_record(*, rows: list[dict], result: dict, params) -> None:
    """Store the run as the recipe's cross-validation report (``mlcore.quality_reports``)."""
    from mlcore.quality_reports import cv_report_save

    summary = result["summary"]
    path = cv_report_save(
        signature=params.recipe_signature(),
        report={
            "data": str(SHARED_OCT),
            "measured_on": time.strftime("%Y-%m-%d"),
            "protocol": "bench/bench_model_quality.py: folds.csv patient-grouped folds, c8-extra training-only",
            "folds": len({r["fold"] for r in rows}),
            "seeds": sorted({r["seed"] for r in rows}),
            "headline": {
                "accuracy": summary["accuracy"][0],
                "accuracy_sd": summary["accuracy"][1],
                "urgent_sensitivity": summary["urgent_sensitivity"][0],
                "urgent_specificity": summary["urgent_specificity"][0],
                "ece": summary["ece"][0],
                "coverage": summary["coverage"][0],
                "accuracy_kept": summary["accuracy_kept"][0],
                "n": sum(r["n_test"] for r in rows if r["seed"] == rows[0]["seed"]),
                "folds": len({r["fold"] for r in rows}),
            },
            "verdicts": result["verdicts"],
            "device_shift": result.get("device_shift"),
            "rows": [{k: v for k, v in r.items() if k != "history"} for r in rows],
        },
    )
    print(f"recorded as {path.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
