"""Refusals at intake. The message is shown to staff, so it names the file and the reason, never PHI."""

from __future__ import annotations


class IntakeError(Exception):
    """A file that is refused; ``reason`` is a sentence that makes sense after the file name."""

    code = "refused"

    def __init__(self, reason: str, *, file_name: str = "", code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.file_name = file_name
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return f"{self.file_name}: {self.reason}" if self.file_name else self.reason

    def __str__(self) -> str:
        return self.message


class DuplicateScan(IntakeError):
    code = "duplicate"


class IdentityMismatch(IntakeError):
    """The DICOM header names someone else (or the other eye); staff must confirm before storing."""

    code = "identity_mismatch"


class IntegrityError(Exception):
    """A stored file no longer matches its recorded sha256."""
