"""Expected problems a user can fix, each saying what is wrong, where, and what to do."""

from __future__ import annotations

from pathlib import Path

from mfg_desktop.core.i18n import tr


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
        """"a.csv, row 12, column 'x': message hint" in the app's language; the pieces of the
        location are translated one by one because each may be absent, and the order is the same
        in Chinese ("文件 a.csv，第 12 行，列 'x'：")."""
        where = []
        if self.file:
            # TRANSLATORS: the file an error is about, first in its location ("a.csv, row 12: ...")
            where.append(tr("{file}", file=Path(self.file).name))
        if self.row is not None:
            where.append(tr("row {row}", row=self.row))
        if self.column is not None:
            where.append(tr("column '{column}'", column=self.column))
        place = where[0] if where else ""
        for piece in where[1:]:
            # TRANSLATORS: joins the pieces of an error's location (file, row, column): a comma, not a list's 、
            place = tr("{place}, {more}", place=place, more=piece)
        text = tr("{where}: {message}", where=place, message=self.message) if where else self.message
        if self.hint:
            # TRANSLATORS: a message followed by its hint (what to do); Chinese needs no space between
            text = tr("{message} {hint}", message=text, hint=self.hint)
        return text


class DataError(MfgError):
    """A data file or table that cannot be used as it is."""


class ModelFileError(MfgError):
    """A model file that is missing, truncated, altered or not ours."""


class TrainingError(MfgError):
    """A training setup that cannot work (one class, no inputs, too few rows, ...)."""


class Cancelled(Exception):
    """Raised inside a job when the user asked it to stop."""
