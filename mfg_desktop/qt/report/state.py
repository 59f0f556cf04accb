"""What the Report step holds and decides, without Qt: sections, cover names, paper, the file, readiness."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTING_KEYS = ("plant", "line", "author")
NO_RUN, NOT_EVALUATED, READY = "no_run", "not_evaluated", "ready"


def default_report_path(last_report: str, data_paths: list[str], run_id: str, home: Path) -> str:
    """Where a new report goes unless the user says otherwise: the folder of the last report, else of
    the data, else the home folder; named after the run, so one run's report never replaces another's."""
    folder = next((Path(p).parent for p in (last_report, *data_paths) if p and Path(p).parent.is_dir()), home)
    return str(folder / f"report_{run_id}.pdf")


def pdf_path(path: str) -> str:
    path = path.strip()
    return path if path.lower().endswith(".pdf") else path + ".pdf"


@dataclass
class ReportState:
    sections: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=lambda: dict.fromkeys(SETTING_KEYS, ""))
    paper: str = "auto"
    path: str = ""
    offered_path: str = ""  # the file name the step proposed; replaced while the user has not changed it

    @staticmethod
    def readiness(run: Any, evaluation: Any) -> str:
        if run is None:
            return NO_RUN
        return READY if evaluation is not None and evaluation.run is run else NOT_EVALUATED

    def can_export(self, run: Any, busy: bool) -> bool:
        return run is not None and not busy and bool(self.path.strip()) and bool(self.sections)

    def offer_path(self, run_id: str, last_report: str, data_paths: list[str], home: Path) -> bool:
        """Propose a file for ``run_id`` unless the user typed or chose one; True when the path changed."""
        if self.path.strip() not in ("", self.offered_path):
            return False
        self.offered_path = self.path = default_report_path(last_report, data_paths, run_id, home)
        return True

    def settings(self, costs: tuple[float, float] | None) -> Any:
        """The core's ReportSettings for these choices; ``costs`` (of a miss, of a false alarm) from Evaluate."""
        from mfg_desktop.core.report import ReportSettings

        extra = dict(zip(("cost_missed", "cost_false_alarm"), costs, strict=True)) if costs is not None else {}
        return ReportSettings(sections=tuple(self.sections), paper=self.paper, **self.names, **extra)
