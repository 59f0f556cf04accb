"""The Data step's work, run on worker threads: profile the table, analyse a target, a column's plot data.

Plain functions ``fn(..., state)`` as :func:`mfg_desktop.qt.workers.run_in_thread` expects; the core
computes (:mod:`mfg_desktop.core.profile`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mfg_desktop.core.profile import DataProfile, TargetReport


def profile_job(frame: Any, state: Any) -> DataProfile:
    from mfg_desktop.core.profile import profile_frame

    return profile_frame(frame, state=state)


def target_job(frame: Any, target: str | list[str], profile: DataProfile | None, state: Any) -> TargetReport:
    from mfg_desktop.core.profile import analyze_target
    from mfg_desktop.core.recipe import binary_classes
    from mfg_desktop.core.task import BINARY, target_columns, target_series

    report = analyze_target(frame, target, profile=profile, state=state)
    if report.task == BINARY:  # both outcomes, the app's pick last, for the "outcome to detect" choice
        columns = target_columns(target, [str(c) for c in frame.columns])
        report.binary_classes = binary_classes(target_series(frame, columns))
    return report


def column_plot_job(series: Any, kind: str, categories: int, state: Any) -> tuple:
    """Plot data for one column: ('histogram', counts, edges, is_dates) or ('counts', pairs).

    A column of categories gets its ``categories`` most frequent values, the rest as one "other" bar.
    """
    # Import pyqtgraph here, off the GUI thread, which would otherwise freeze for about a second
    # when it creates the first plot.
    import mfg_desktop.qt.plots  # noqa: F401
    from mfg_desktop.core.profile import histogram, value_counts
    from mfg_desktop.qt.data.state import HISTOGRAM_BINS, plotted_as_histogram

    if plotted_as_histogram(kind):
        counts, edges = histogram(series, bins=HISTOGRAM_BINS)
        return ("histogram", counts, edges, kind == "datetime")
    return ("counts", value_counts(series, top=categories))
