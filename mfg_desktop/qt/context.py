"""What a step panel may use of the application: the session, jobs, messages and navigation.

After Orange's widget base and Spyder's plugin API: a panel never imports or holds the main window.
The window builds one :class:`AppContext`, hands it to every panel and connects the context's
request signals to its own status bar, banner, error dialog and step list. A test builds an
``AppContext`` alone and watches its signals, so a panel can be tested without a window.

:class:`TaskSlot` is the panel side of a background job (Orange's ``ConcurrentWidgetMixin`` done by
composition): one job at a time, a new start cancels the previous one, signals of a replaced job
are dropped, errors go to :meth:`AppContext.report_error` and progress to the status bar.

The import arrows run one way: ``main_window`` → panels → ``context`` / widgets → ``core``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from mfg_desktop.qt.workers import Job, run_in_thread

if TYPE_CHECKING:
    from mfg_desktop.qt.session import SessionModel


def data_file_filters() -> str:
    """The file-type filters of every dialog that opens data files."""
    translate = QCoreApplication.translate
    return ";;".join(
        [
            translate("Dialogs", "Data files (*.csv *.txt *.tsv *.dat *.xlsx *.xlsm *.xls)"),
            translate("Dialogs", "CSV and text files (*.csv *.txt *.tsv *.dat)"),
            translate("Dialogs", "Excel workbooks (*.xlsx *.xlsm *.xls)"),
            translate("Dialogs", "All files (*)"),
        ]
    )


class AppContext(QObject):
    """The services a panel receives. Requests go up as signals; whoever hosts the panels connects them."""

    message_requested = Signal(str, str)  # text, level ("error" | "warning" | "info")
    notice_cleared = Signal()
    error_reported = Signal(object, str)  # exception, what was being done
    job_started = Signal(object, str, bool)  # Job, title, cancellable
    status_requested = Signal(str, int)  # text, milliseconds (0: until replaced)
    step_requested = Signal(str)  # step key
    open_files_requested = Signal()  # File > Open… dialog
    sample_data_requested = Signal()
    device_described = Signal(str)  # where training runs, in words
    compute_changed = Signal(object)  # Settings › Compute saved a ComputeChoice (qt/compute.py)
    batch_report_requested = Signal(object, object, str)  # LoadedModel, list[FileResult], path

    def __init__(self, session: SessionModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.closing = False  # set when the host closes: no new job may start after that

    def accepting_jobs(self) -> bool:
        return not self.closing

    def notify(self, text: str, level: str = "error") -> None:
        self.message_requested.emit(text, level)

    def clear_notice(self) -> None:
        self.notice_cleared.emit()

    def report_error(self, exc: BaseException, context: str = "") -> None:
        """Expected problems (MfgError) become a banner; anything else the error dialog and the log."""
        self.error_reported.emit(exc, context)

    def track(self, job: Job, title: str, cancellable: bool = True) -> None:
        """Show ``job``'s progress, with Cancel when ``cancellable``, until it ends."""
        self.job_started.emit(job, title, cancellable)

    def status(self, text: str, ms: int = 0) -> None:
        self.status_requested.emit(text, ms)

    def go_to(self, step: str) -> None:
        self.step_requested.emit(step)


class TaskSlot(QObject):
    """One background job at a time for its owner.

    ``start`` cancels the job still running, starts ``fn(*args, state=…)`` on a worker thread,
    shows its progress and routes its outcome: ``on_done(result)`` for the job that is current,
    errors to the context's :meth:`~AppContext.report_error` (or ``on_error``), and ``ended`` once
    the job is over, whatever the outcome. Signals of a job that was replaced are dropped.
    """

    ended = Signal()

    def __init__(self, ctx: AppContext, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.name = name
        self.job: Job | None = None

    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def drop(self) -> None:
        """Cancel the job and drop whatever it still sends: what it was computed for is gone."""
        self.cancel()
        self.job = None

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        title: str,
        context: str = "",
        on_done: Callable[[Any], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        cancellable: bool = True,
        track: bool = True,
        **kwargs: Any,
    ) -> Job | None:
        """Start the job (None once the host is closing)."""
        if not self.ctx.accepting_jobs():
            return None
        if self.is_running():
            self.job.cancel()
        job = run_in_thread(fn, *args, name=self.name, **kwargs)
        self.job = job

        def current(callback: Callable[..., None] | None) -> Callable[..., None]:
            def slot(*values: Any) -> None:
                if job is self.job and callback is not None:
                    callback(*values)

            return slot

        job.finished.connect(current(on_done))
        if on_partial is not None:
            job.partial.connect(current(on_partial))
        job.errored.connect(current(on_error or (lambda exc: self.ctx.report_error(exc, context))))
        if on_cancelled is not None:
            job.cancelled.connect(current(on_cancelled))
        job.ended.connect(lambda: self._ended(job))
        if track:
            self.ctx.track(job, title, cancellable)
        return job

    def _ended(self, job: Job) -> None:
        if job is self.job:
            self.ended.emit()
