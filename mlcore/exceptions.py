"""Errors other apps catch: they tell "no model to serve" apart from "this model is broken"."""

from __future__ import annotations


class MlcoreError(Exception):
    """Base of every error mlcore raises on purpose."""


class ModelVersionUnavailable(MlcoreError):
    """A model version cannot serve (missing, corrupt, or incompatible); callers should retry later or alert."""


class NoDeployedModel(ModelVersionUnavailable):
    """No version is deployed and none was loaded before: classification cannot happen at all."""


class ArtifactCorrupt(ModelVersionUnavailable):
    """The stored artifact or its card cannot be read, fails its checksum, or does not predict."""

    def __init__(self, version: str, path: str, reason: str):
        self.version = version
        self.path = path
        self.reason = reason
        super().__init__(f"Model version {version!r}: artifact {path!r} is unusable: {reason}")


class TrainingBusy(MlcoreError):
    """Another training run is queued or running: one at a time, so it is refused rather than queued twice."""


class TrainingParamsInvalid(MlcoreError, ValueError):
    """Training parameters a person typed are unusable; the message says which and why."""


class ModelActionRefused(ModelVersionUnavailable):
    """A registry action a person asked for is refused by a rule (not a candidate, no reason, deploy checks);
    ``problems`` lists every rule it broke, in words."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)
