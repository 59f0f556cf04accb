"""Unexpected errors: a dialog with a plain summary, the traceback behind a details button, a log.

Expected problems (:class:`MfgError`) belong in the window's banner; this is for bugs and for
failures nobody anticipated. ``install_excepthook`` routes uncaught exceptions from the GUI
thread (``sys.excepthook``) and from Python threads (``threading.excepthook``) here; exceptions
from other threads are relayed to the GUI thread through a queued signal first.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from mfg_desktop.core.crash import StepHistory, write_crash_report
from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt.settings import config_dir, log_path

log = logging.getLogger("mfg_desktop")


def setup_logging() -> None:
    """Log warnings and errors to a rotating file in the config dir (once per process)."""
    if any(getattr(h, "_mfg_desktop", False) for h in log.handlers):
        return
    handler = logging.handlers.RotatingFileHandler(
        log_path(), maxBytes=1_000_000, backupCount=2, encoding="utf-8"
    )
    handler._mfg_desktop = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def traceback_text(exc: BaseException) -> str:
    """The traceback of an exception, including one captured on a worker thread."""
    captured = getattr(exc, "__traceback_text__", None)
    if captured:
        return captured
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


class CrashSources:
    """What a crash report draws on, registered by the window: its work saver and step history."""

    save_work: Callable[[], Path | None] | None = None
    history: StepHistory | None = None


def set_crash_sources(save_work: Callable[[], Path | None], history: StepHistory) -> None:
    CrashSources.save_work = save_work
    CrashSources.history = history


def write_crash_files(details: str) -> tuple[Path | None, Path | None]:
    """Save the work (autosave) and write the crash report zip; (work file, report), None if failed."""
    saved = None
    if CrashSources.save_work is not None:
        try:
            saved = CrashSources.save_work()
        except Exception:
            log.exception("saving the work after an unexpected error failed")
    try:
        report = write_crash_report(config_dir(), details, log_file=log_path(), history=CrashSources.history,
                                    work_saved_to=str(saved) if saved else None)
    except Exception:
        log.exception("writing the crash report failed")
        report = None
    return saved, report


def show_error_dialog(exc: BaseException, parent: QWidget | None = None, context: str = "") -> QMessageBox:
    """Log ``exc`` and show a non-blocking dialog; the traceback is under 'Show Details...'."""
    translate = QCoreApplication.translate
    details = traceback_text(exc)
    log.error("%s%s", f"{context}: " if context else "", details)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(translate("ErrorDialog", "Something went wrong"))
    if isinstance(exc, MfgError):
        summary = str(exc)
        informative = translate("ErrorDialog", "Details were written to the log file:\n{path}").format(path=log_path())
    else:
        saved, report = write_crash_files(details)
        summary = translate(
            "ErrorDialog",
            "An unexpected error occurred{context}. Your data files were not changed; "
            "you can keep working.",
        ).format(context=f" ({context})" if context else "")
        summary += "\n\n" + f"{type(exc).__name__}: {exc}"
        lines = []
        if saved is not None:
            lines.append(translate("ErrorDialog", "Your work was saved to {path}; File › Open work brings it back.")
                         .format(path=saved))
        if report is not None:
            lines.append(translate("ErrorDialog", "A crash report was written to\n{path}\n(it holds no data values and "
                            "was not sent anywhere). If this happens again, give that file to your IT "
                            "support.").format(path=report))
        informative = "\n\n".join(lines) or translate("ErrorDialog", "Details were written to the log file:\n{path}").format(
            path=log_path())
    box.setText(summary)
    box.setInformativeText(informative)
    box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


class _ExceptionRelay(QObject):
    """Carries an exception from any thread to the GUI thread (queued signal)."""

    raised = Signal(object, str)

    def __init__(self) -> None:
        super().__init__()
        self.raised.connect(self._show)
        self.last_dialog: QMessageBox | None = None

    @Slot(object, str)
    def _show(self, exc: BaseException, context: str) -> None:
        if (
            self.last_dialog is not None
            and shiboken6.isValid(self.last_dialog)
            and self.last_dialog.isVisible()
        ):
            log.error("further error while a dialog is open: %s", traceback_text(exc))
            return  # one dialog at a time; a storm of them would make the app unusable
        self.last_dialog = show_error_dialog(exc, QApplication.activeWindow(), context)


_relay: _ExceptionRelay | None = None


def install_excepthook() -> _ExceptionRelay:
    """Show uncaught exceptions (GUI thread and other threads) in a dialog and log them."""
    global _relay
    if _relay is None:
        _relay = _ExceptionRelay()

    handling = threading.local()

    def gui_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt) or getattr(handling, "active", False):
            # a failure while showing a failure: print it rather than recurse
            sys.__excepthook__(exc_type, exc, tb)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        handling.active = True
        try:
            _relay.raised.emit(exc, "")
        finally:
            handling.active = False

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        exc = args.exc_value if args.exc_value is not None else args.exc_type()
        name = args.thread.name if args.thread is not None else "thread"
        _relay.raised.emit(exc, name)

    sys.excepthook = gui_hook
    threading.excepthook = thread_hook
    return _relay
