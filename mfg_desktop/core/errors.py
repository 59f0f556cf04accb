"""Expected problems a user can fix, each saying what is wrong, where, and what to do."""

from __future__ import annotations

from pathlib import Path


class MfgError(Exception):
    """Base class of problems shown to the user as a plain message, never as a traceback."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.file:
            where.append(Path(self.file).name)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.hint:
            text += f" {self.hint}"
        return text


class DataError(MfgError):
    """A data file or table that cannot be used as it is."""


class ModelFileError(MfgError):
    """A model file that is missing, truncated, altered or not ours."""


class TrainingError(MfgError):
    """A training setup that cannot work (one class, no inputs, too few rows, ...)."""


class Cancelled(Exception):
    """Raised inside a job when the user asked it to stop."""
