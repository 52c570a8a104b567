"""The diagnostic vocabulary mlcore speaks: classes in model-output order and what each means for referral.

The order of ``CLASSES`` is the order of the model's output units; it is written into every model card so a
model trained with another order can never be read with this one by mistake.
"""

from __future__ import annotations

from enum import StrEnum

CLASSES: tuple[str, ...] = ("CNV", "DME", "DRUSEN", "NORMAL")


class Urgency(StrEnum):
    """Referral urgency after Kermany et al. 2018 (Cell 172:1122): CNV and DME threaten sight within weeks."""

    URGENT = "urgent"
    ROUTINE = "routine"
    OBSERVATION = "observation"


URGENCY_BY_LABEL: dict[str, Urgency] = {
    "CNV": Urgency.URGENT,
    "DME": Urgency.URGENT,
    "DRUSEN": Urgency.ROUTINE,
    "NORMAL": Urgency.OBSERVATION,
}
