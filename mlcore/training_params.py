"""What a training run is asked to do, validated once for the web form, the command and the beat task alike."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from mlcore.exceptions import TrainingParamsInvalid

MIN_INPUT_SIZE = 75  # InceptionV3's smallest accepted input (mlcore.architecture imports TensorFlow; not here)


@dataclass(frozen=True)
class TrainingParams:
    epochs: int = 20
    input_size: int = 128
    base_weights: str | None = None  # None | "imagenet" | path to an .h5 file
    fine_tune_depth: int | None = None  # base layers trained from the top; None: all
    data: str = "clinic"  # "clinic" (registered sources) or a folder
    batch_size: int = 32
    learning_rate: float = 1e-3
    augment: bool = True
    auto_promote: bool = False  # scheduled retraining: deploy if the gate passes
    seed: int = 0
    synthetic: bool = False  # trained on generated phantoms (the demo); shown on every page naming the version
    # The recipe (mlcore.training.Recipe): "v2" = warm-up + cosine AdamW, label smoothing, weight EMA;
    # "plain" = constant-rate Adam keeping the best validation epoch (versions before it).
    recipe: str = "v2"
    balanced_epoch: int | None = 640
    warmup_epochs: int = 3
    weight_decay: float = 0.02
    label_smoothing: float = 0.1
    ema_momentum: float | None = 0.99
    # Re-render training scans as other OCT devices would (mlcore.device_shift.DeviceShift, recorded in the card).
    device_shift: bool = True

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def recipe_signature(self) -> dict[str, Any]:
        """What makes two runs the same recipe (not the data, seed or promotion): the key of CV reports."""
        from mlcore.preprocessing import PREPROCESSING_VERSION

        ignore = {"data", "seed", "auto_promote", "synthetic"}
        signature = {k: v for k, v in self.as_dict().items() if k not in ignore}
        signature["preprocessing_version"] = PREPROCESSING_VERSION  # a new preprocessing is a new recipe
        return signature

    @classmethod
    def defaults(cls) -> TrainingParams:
        return cls(
            epochs=int(getattr(settings, "MLCORE_TRAIN_EPOCHS", 20)),
            input_size=int(getattr(settings, "MLCORE_TRAIN_INPUT_SIZE", 128)),
            base_weights=getattr(settings, "MLCORE_TRAIN_BASE_WEIGHTS", None) or None,
            batch_size=int(getattr(settings, "MLCORE_TRAIN_BATCH_SIZE", 32)),
            learning_rate=float(getattr(settings, "MLCORE_TRAIN_LEARNING_RATE", 1e-3)),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingParams:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise TrainingParamsInvalid(f"Unknown training parameter(s): {', '.join(sorted(unknown))}")
        params = dataclasses.replace(cls.defaults(), **data)
        params.validate()
        return params

    def validate(self) -> None:
        problems = []
        if not 1 <= int(self.epochs) <= 500:
            problems.append("epochs must be between 1 and 500")
        if not MIN_INPUT_SIZE <= int(self.input_size) <= 600:
            problems.append(f"image size must be between {MIN_INPUT_SIZE} and 600 pixels")
        if not 1 <= int(self.batch_size) <= 256:
            problems.append("batch size must be between 1 and 256")
        if not 0 < float(self.learning_rate) < 1:
            problems.append("learning rate must be between 0 and 1")
        if self.fine_tune_depth is not None and int(self.fine_tune_depth) < 0:
            problems.append("fine-tuning depth cannot be negative")
        if self.base_weights not in (None, "imagenet") and not Path(str(self.base_weights)).is_file():
            problems.append("base weights must be 'none', 'imagenet' or an existing weights file")
        if self.recipe not in ("v2", "plain"):
            problems.append("recipe must be 'v2' or 'plain'")
        if self.balanced_epoch is not None and not int(self.batch_size) <= int(self.balanced_epoch) <= 100_000:
            problems.append("a balanced epoch must hold between one batch and 100,000 images")
        if not 0 <= int(self.warmup_epochs) <= 50:
            problems.append("warm-up must be between 0 and 50 epochs (a short run warms up for fewer)")
        if not 0 <= float(self.weight_decay) < 1:
            problems.append("weight decay must be between 0 and 1")
        if not 0 <= float(self.label_smoothing) < 0.5:
            problems.append("label smoothing must be between 0 and 0.5")
        if self.ema_momentum is not None and not 0 < float(self.ema_momentum) < 1:
            problems.append("EMA momentum must be between 0 and 1")
        if self.data != "clinic" and not Path(self.data).is_dir():
            problems.append("data must be 'clinic' or an existing folder")
        if problems:
            raise TrainingParamsInvalid("; ".join(problems))
