"""What the Predict step holds and decides, without Qt: the model, the files, the results, what can run.

The panel shows this state and starts the jobs; every rule that used to sit in a widget handler
(which files are listed once, which result is current, which results can be exported, which rows
the table shows, which buttons are live) is a method here, testable without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mfg_desktop.core.score import FileScore

# the three outcomes of scoring a file (FileScore.status), in the order they are told apart
STATUSES = ("scored", "partial", "rejected")


@dataclass(frozen=True)
class Actions:
    """Which of the step's commands can run now."""

    score: bool
    cancel_score: bool
    export_current: bool
    export_all: bool
    batch_report: bool
    use_run: bool
    start_watch: bool
    stop_watch: bool


@dataclass(frozen=True)
class Activity:
    """The jobs running now, as the panel's task slots report them."""

    scoring: bool = False
    exporting: bool = False
    watching: bool = False

    @property
    def busy(self) -> bool:
        """Scoring and exporting use the results, so neither starts while the other runs."""
        return self.scoring or self.exporting


@dataclass(frozen=True)
class RowsShown:
    """The rows the table shows for one result, and how to mark them."""

    frame: pd.DataFrame | None  # None or empty: nothing to show
    flag_column: str | None
    rejected_column: str | None
    flagged_only: bool  # the "only flagged rows" filter applies (binary results only)
    total: int  # how many rows the shown ones are the first of

    @property
    def empty(self) -> bool:
        return self.frame is None or self.frame.empty


def rows_shown(result: FileScore, only_flagged: bool) -> RowsShown:
    """The preview (or, for a binary model when asked, the flagged rows) of ``result``."""
    names = result.output_columns
    flag = "flag" if "flag" in names else next((n for n in names if n.startswith("flag")), None)
    rejected = next((n for n in names if n.startswith("rejected")), None)
    flagged_only = only_flagged and result.task == "binary"
    frame = result.flagged if flagged_only else result.preview
    total = result.flagged_count if flagged_only else result.rows_read
    return RowsShown(frame, flag, rejected, flagged_only, total)


def warning_lines(result: FileScore) -> list[str]:
    """The file's error, then its schema and drift findings, one line each."""
    lines = [result.error] if result.error else []
    if result.schema is not None:
        lines += result.schema.lines()
    if result.drift is not None:
        lines += result.drift.lines()
    return lines


class PredictState:
    """The model to score with, the files to score, the results so far and the one shown."""

    def __init__(self) -> None:
        self.model: Any = None  # LoadedModel (a file, or a run of this session wrapped)
        self.model_source = ""
        self.paths: list[str] = []
        self.results: list[FileScore] = []
        self.current = -1  # index into results of the one shown; -1: none
        self.last_export: list[Path] = []

    # -- the model ------------------------------------------------------------------------------
    def set_model(self, model: Any, source: str = "") -> None:
        self.model = model
        self.model_source = source or (str(model.path) if getattr(model, "path", None) else "")

    def wants_current_run(self, run: Any) -> bool:
        """A run trained in this session is taken up only while no model is chosen."""
        return self.model is None and run is not None and getattr(run, "model", None) is not None

    # -- files ----------------------------------------------------------------------------------
    def add_paths(self, paths: list[str | Path]) -> list[str]:
        """List ``paths`` (files or folders) once each; return the ones that were new, in order."""
        added = []
        for p in map(str, paths):
            if p not in self.paths:
                self.paths.append(p)
                added.append(p)
        return added

    def remove_paths(self, paths: list[str]) -> None:
        gone = set(paths)
        self.paths = [p for p in self.paths if p not in gone]

    # -- results --------------------------------------------------------------------------------
    def start_scoring(self) -> None:
        """A new scoring run replaces the results shown."""
        self.results = []
        self.current = -1

    def add_result(self, result: Any) -> bool:
        """Keep a file's result (the first one becomes current); progress messages are not results."""
        if not hasattr(result, "summary"):
            return False
        self.results.append(result)
        if self.current < 0:
            self.current = len(self.results) - 1
        return True

    def select(self, row: int) -> FileScore | None:
        self.current = row if 0 <= row < len(self.results) else -1
        return self.current_result

    @property
    def current_result(self) -> FileScore | None:
        return self.results[self.current] if 0 <= self.current < len(self.results) else None

    def rejected_count(self, results: list[FileScore] | None = None) -> int:
        return sum(r.rejected for r in (self.results if results is None else results))

    def to_export(self, all_files: bool) -> list[FileScore]:
        """The results with a scored file to export: all of them, or the current one."""
        chosen = self.results if all_files else [self.current_result]
        return [r for r in chosen if r is not None and r.output is not None]

    def protected_paths(self) -> list[str]:
        """The input files: an export must never overwrite one."""
        return [str(r.path) for r in self.results]

    # -- what can run ---------------------------------------------------------------------------
    def can_score(self, activity: Activity) -> bool:
        return self.model is not None and bool(self.paths) and not activity.busy

    def actions(self, activity: Activity, has_run: bool) -> Actions:
        current = self.current_result
        idle = not activity.busy
        return Actions(
            score=self.can_score(activity),
            cancel_score=activity.scoring,
            export_current=idle and current is not None and current.output is not None,
            export_all=idle and any(r.output is not None for r in self.results),
            batch_report=idle and self.model is not None and bool(self.results),
            use_run=has_run,
            start_watch=self.model is not None and not activity.watching,
            stop_watch=activity.watching,
        )

    @staticmethod
    def watch_folders(folder: str, out_dir: str) -> tuple[str, str] | None:
        """The folder to watch and the one for scored files, trimmed; None unless both are given."""
        folder, out_dir = folder.strip(), out_dir.strip()
        return (folder, out_dir) if folder and out_dir else None
