"""Training benchmark: the product's own ``manage.py train_model`` on the real B-scans in ../shared/oct.

Run: ``.venv/bin/python bench/bench_training.py`` (``make bench``); ``--epochs``, ``--image-size``,
``--batch-size`` to go longer or larger. It

1. trains on ``../shared/oct/kermany`` with ``manage.py train_model`` in a throw-away data folder (fresh
   database, fresh media), split by patient (stratified by class) into train / validation / test;
2. prints the held-out test split's scores (accuracy, per-class precision/recall/F1/AUC, urgent-referral
   sensitivity and specificity, ECE);
3. measures training throughput on the same train images, alternating twice (the machine is shared): a bare
   Keras ``model.fit`` on images preprocessed in advance into memory (``from_tensor_slices``, no augmentation),
   and the product's ``model_train_items`` (tf.data from files, OCT augmentation, class weights,
   progress/cancel callback), same model and batch size, epochs after the first (whose decoded images are then
   cached). ``--throughput-only`` skips steps 1-2.

The c8-extra images (500 CNV, 500 NORMAL) have no patient id: some may come from the same patients as test
images, so by default they are *excluded* (``--with-c8-extra`` adds them, training-only, and says the test
scores may then be optimistic). No ImageNet weights can be downloaded here, so training starts from scratch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SHARED_OCT = ROOT.parent / "shared" / "oct"


def _manage(args: list[str], env: dict, *, echo: bool = True) -> str:
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if echo and not line.startswith("20"):  # skip Django's log lines, keep the command's own output
            print("   ", line.rstrip(), flush=True)
    if process.wait() != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{''.join(lines[-40:])}")
    return "".join(lines)


def bare_fit_throughput(items, *, input_size: int, batch_size: int, seed: int = 0) -> float:
    """Images/s of plain ``model.fit`` on images preprocessed in advance into memory (epochs after the first,
    which traces the graph)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from mlcore.architecture import classifier_build
    from mlcore.labels import CLASSES
    from mlcore.preprocessing import image_preprocess

    x = np.stack([image_preprocess(item.load(), input_size=input_size) for item in items])
    y = keras.utils.to_categorical([CLASSES.index(item.label) for item in items], len(CLASSES))
    # The canonical in-memory input pipeline (Keras' own NumPy adapter measured anywhere from 26 to 53 img/s
    # between processes on this machine, which made it useless as a yardstick).
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    keras.utils.set_random_seed(seed)
    model = classifier_build(input_size=input_size, base_weights=None)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.monotonic() - self.began)

    model.fit(data, epochs=3, verbose=0, shuffle=False, callbacks=[Timer()])
    return len(items) * (len(times) - 1) / sum(times[1:])  # epochs after the first, as for the product


def product_fit_throughput(items, *, input_size: int, batch_size: int, seed: int = 0) -> float:
    """Images/s of the product's training (tf.data from files, shared preprocessing, OCT augmentation,
    class weights, progress/cancel callback), epochs after the first (cached), no validation split."""
    from mlcore.training import model_train_items

    result = model_train_items(
        train_items=items, validation_items=[], input_size=input_size, epochs=3, batch_size=batch_size, seed=seed
    )
    return result.steady_images_per_second


def _run_metrics() -> dict:
    from mlcore.models import TrainingRun

    return TrainingRun.objects.select_related("model_version").get().model_version.card["metrics"]


def _report_run(data: Path) -> list:
    """Print the training run's dataset and held-out scores; return its train split's items."""
    from mlcore.datasets import dataset_split_items
    from mlcore.evaluation import report_text
    from mlcore.models import TrainingRun
    from mlcore.training_sources import folder_items

    run = TrainingRun.objects.select_related("model_version", "dataset").get()
    version = run.model_version
    metrics = version.card["metrics"]
    evaluation = version.lifecycle.evaluation
    print(f"\n== dataset #{run.dataset.pk}: class counts per split {json.dumps(run.dataset.class_counts)}")
    print(f"   patients per split {run.dataset.groups}; class weights {run.dataset.class_weights}")
    print(f"\n== held-out test split ({evaluation['n']} images, patients never seen in training)")
    print(report_text(evaluation))
    temperature = version.card["temperature"]
    print(f"validation accuracy {metrics.get('validation_accuracy', 0):.3f}; temperature {temperature:.3f}")
    return dataset_split_items(dataset=run.dataset, items=folder_items(data), split="train")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--baseline-images", type=int, default=256)
    parser.add_argument("--with-c8-extra", action="store_true")
    parser.add_argument(
        "--throughput-only", action="store_true", help="skip the training run and its scores; measure throughput"
    )
    args = parser.parse_args()
    if not SHARED_OCT.is_dir():
        print(f"SKIP: {SHARED_OCT} is absent (real OCT data lives beside the repository as ../shared)")
        return
    started = time.monotonic()
    data_dir = tempfile.mkdtemp(prefix="bench-training-")
    data = SHARED_OCT if args.with_c8_extra else SHARED_OCT / "kermany"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "octclinic.settings",
        "OCT_DATA_DIR": data_dir,
        "MEDIA_ROOT": str(Path(data_dir) / "media"),
        "DATABASE_URL": f"sqlite:///{data_dir}/db.sqlite3",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    import tensorflow as tf

    print(f"mlcore training benchmark: InceptionV3 from scratch, {args.image_size}px, batch {args.batch_size}, "
          f"{args.epochs} epochs, TF {tf.__version__}, {os.cpu_count()} CPUs; data {data}")  # fmt: skip
    _manage(["migrate", "--no-input", "-v", "0"], env, echo=False)
    train_args = [
        "train_model", "--data", str(data), "--epochs", str(args.epochs), "--image-size", str(args.image_size),
        "--batch-size", str(args.batch_size), "--learning-rate", str(args.learning_rate), "--base-weights", "none",
    ]  # fmt: skip
    if not args.throughput_only:
        print("\n== product: manage.py " + " ".join(train_args))
        _manage(train_args, env)

    for key, value in env.items():
        os.environ[key] = value
    import django

    django.setup()
    from mlcore.training_sources import folder_items

    metrics: dict = {}
    if args.throughput_only:
        items = folder_items(data)
    else:
        items = _report_run(data)
        metrics = _run_metrics()
    subset = items[: args.baseline_images]
    print(f"\n== throughput on {len(subset)} train images: bare Keras fit (preprocessed in memory) vs the product's")
    print("   training, alternated twice so that load from other work on this machine hits both alike")
    bare, product = [], []
    for _ in range(2):
        bare.append(bare_fit_throughput(subset, input_size=args.image_size, batch_size=args.batch_size))
        product.append(product_fit_throughput(subset, input_size=args.image_size, batch_size=args.batch_size))
        print(f"   bare fit {bare[-1]:.2f} img/s, product {product[-1]:.2f} img/s", flush=True)
    baseline, steady = max(bare), max(product)
    overall = metrics.get("images_per_second") or 0.0
    ratio = steady / baseline if baseline else 0.0
    print("\nfigure                                        app  baseline   ratio  unit   target")
    print(f"training throughput (best of 2, cached)  {steady:8.2f}  {baseline:8.2f}  {ratio:5.2f}x  img/s  >= 0.9x "
          f"{'PASS' if ratio >= 0.9 else 'MISS'}")  # fmt: skip
    if metrics:
        whole = overall / baseline if baseline else 0.0
        print(f"full run above (val + 1st epoch incl.) {overall:8.2f}  {baseline:8.2f}  {whole:5.2f}x  img/s")
        print(f"\ntraining time {metrics.get('training_seconds')} s for {len(items)} train images x {args.epochs} "
              f"epochs")  # fmt: skip
    print(f"bench wall time {time.monotonic() - started:.0f} s; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
