"""``mfg-desktop --self-test``: prove an installed (or frozen) app works end to end on this PC.

It opens the real main window (offscreen where there is no display), loads the bundled sample
through the window's own load path, then trains two epochs, saves and reopens the model file,
evaluates it, scores the sample as a batch and writes a PDF report into a temporary folder. The
heavy steps run off the GUI thread through :func:`run_in_thread`, calling the same core functions
as the headless commands. Each step's outcome is checked (rows, finite losses, probabilities in
[0, 1], a real PDF), and one summary line is printed: exit status 0, or 1 with
``self-test failed at <step>: <reason>`` on stderr. Nothing of the user's is read or written:
settings go to the temporary folder too, which is removed at the end.

The "window shown" time runs from the start of the process to the window's first paint, so the
installer can quote the frozen app's start-to-window time; TensorFlow must not be loaded by then.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Fallback start time where the OS does not tell a process's start (see process_age_s).
_IMPORTED_AT = time.monotonic()

TIMEOUT_S = 300.0
SAMPLE_TARGET = "defect"
EPOCHS = 2
POLL_MS = 10


class SelfTestFailure(Exception):
    """A step did not produce what it should; ``reason`` says what was found instead."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


# --------------------------------------------------------------------------------------------
# timing


def _linux_start_age(pid: int | str = "self") -> float | None:
    """Seconds since process ``pid`` started, from /proc (10 ms resolution), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        # the command name (field 2) may hold spaces and ')': count fields after its last ')'
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def process_age_s() -> float:
    """Seconds since this program was launched.

    A one-file frozen app is a bootloader process that unpacks and starts a child running Python:
    when our parent is the same executable, the launch is the parent's start.
    """
    age = _linux_start_age()
    if age is None:
        return time.monotonic() - _IMPORTED_AT
    if getattr(sys, "frozen", False):
        try:
            if os.path.realpath(f"/proc/{os.getppid()}/exe") == os.path.realpath(sys.executable):
                age = _linux_start_age(os.getppid()) or age
        except OSError:
            pass
    return age


# --------------------------------------------------------------------------------------------
# checks (plain functions, so that tests can feed them wrong results)


def check_loaded(rows: int) -> None:
    if rows <= 0:
        raise SelfTestFailure("load", f"the sample loaded with {rows} rows")


def check_history(history: dict[str, list[float]], epochs: int = EPOCHS) -> float:
    """The validation loss of the last epoch, after checking every epoch has finite losses."""
    losses = list(history.get("loss", []))
    val = list(history.get("val_loss", []))
    if len(losses) != epochs or len(val) != epochs:
        raise SelfTestFailure("train", f"expected {epochs} epochs in the history, got {len(losses)} "
                                       f"training and {len(val)} validation losses")
    bad = [x for x in losses + val if not math.isfinite(float(x))]
    if bad:
        raise SelfTestFailure("train", f"the loss is not finite ({bad[0]})")
    return float(val[-1])


def check_scores(rows_read: int, rows_scored: int, scores: Any, expected_rows: int, status: str,
                 error: str | None = None) -> None:
    import numpy as np

    if status != "scored":
        raise SelfTestFailure("score", f"the batch was {status}" + (f": {error}" if error else ""))
    if rows_read != expected_rows or rows_scored != expected_rows:
        raise SelfTestFailure("score", f"{rows_scored} of {rows_read} rows scored, the file has {expected_rows}")
    p = np.asarray(scores, dtype=np.float64)
    if len(p) != expected_rows:
        raise SelfTestFailure("score", f"{len(p)} probabilities for {expected_rows} rows")
    outside = ~((p >= 0.0) & (p <= 1.0))  # NaN counts as outside
    if outside.any():
        raise SelfTestFailure("score", f"{int(outside.sum())} probabilities outside [0, 1] "
                                       f"(first: {p[outside][0]})")


def pdf_pages(path: Path) -> int:
    """Pages of a PDF (Qt writes plain page objects, so counting them is enough); raises if not a PDF."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SelfTestFailure("report", f"the PDF cannot be read ({exc.strerror or exc})") from None
    if not data.startswith(b"%PDF-"):
        raise SelfTestFailure("report", f"{Path(path).name} is not a PDF (it starts with {data[:8]!r})")
    pages = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))
    if pages < 1:
        raise SelfTestFailure("report", f"{Path(path).name} has no pages")
    return pages


# --------------------------------------------------------------------------------------------
# the jobs (run on worker threads; the same core calls as the headless commands)


def _train_job(frame: Any, data_files: list[str], target: str, state: Any) -> tuple[Any, Any]:
    """Train as ``mfg-desktop train`` does by default: likely leaks left out, proposed recipe,
    random stratified split, the default preset, here with two epochs."""
    from mfg_desktop.core.network import DEFAULT_PRESET, preset
    from mfg_desktop.core.profile import analyze_target
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import train_run

    target_report = analyze_target(frame, target)
    leaks = {s.column: s.reason for s in target_report.leak_suspects}
    recipe = propose_recipe(frame, target, leak_suspects=leaks)
    spec = preset(DEFAULT_PRESET).with_changes(epochs=EPOCHS)
    run = train_run(frame, recipe, SplitSpec.parse("random", seed=0), spec, seed=0, class_weight="auto",
                    state=state, data_files=data_files)
    return run, target_report


def _evaluate_job(run: Any, model_path: str, frame: Any, data_files: list[str], state: Any) -> tuple[Any, Any]:
    """Save the model file, open it again and evaluate it, as ``train --out`` then ``evaluate`` do."""
    from mfg_desktop.core.bundle import load_model_file, save_model_file
    from mfg_desktop.core.evaluate import evaluate_model_file

    loaded = load_model_file(save_model_file(run, model_path))
    return loaded, evaluate_model_file(loaded, frame, data_files=data_files, state=state)


def _score_job(loaded: Any, paths: list[str], out_dir: str, state: Any) -> list[Any]:
    """Score files into ``out_dir`` with their summaries, as ``mfg-desktop predict`` does."""
    from mfg_desktop.core.score import ScoreOptions, score_files, write_score_summary

    results = score_files(loaded, paths, out_dir, state=state, options=ScoreOptions())
    for result in results:
        if not result.rejected:
            write_score_summary(result, out_dir, loaded.run.id)
    return results


def _report_job(loaded: Any, evaluation: Any, profile: Any, target_report: Any, path: str, state: Any) -> Any:
    """The model report with every section, as ``mfg-desktop report MODEL --data FILE`` writes it."""
    from mfg_desktop.core.report import ReportSettings, build_model_report
    from mfg_desktop.report_pdf import render_pdf

    doc = build_model_report(loaded, evaluation, profile, target_report, ReportSettings(title="Self-test report"))
    return render_pdf(doc, path, state=state)


# --------------------------------------------------------------------------------------------
# driving the window from the event loop


class _Progress:
    """The step running now (the watchdog names it) and the folder to clean up on a timeout."""

    def __init__(self) -> None:
        self.step = "start"
        self.folder: Path | None = None


def _wait_until(condition: Callable[[], bool]) -> None:
    """Run the event loop until ``condition()`` holds (the watchdog bounds the wait)."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(POLL_MS)
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    timer.start()
    loop.exec()
    timer.stop()


def _wait_job(job: Any, step: str) -> Any:
    """The job's result once it has ended; its error or cancellation as a failure of ``step``."""
    outcome: dict[str, Any] = {}
    # Connected right after the job started: its queued signals arrive only in the event loop.
    job.finished.connect(lambda result: outcome.__setitem__("result", result))
    job.errored.connect(lambda exc: outcome.__setitem__("error", exc))
    job.cancelled.connect(lambda: outcome.__setitem__("cancelled", True))
    job.ended.connect(lambda: outcome.__setitem__("ended", True))
    _wait_until(lambda: "ended" in outcome)
    if "error" in outcome:
        raise outcome["error"]
    if "result" not in outcome:
        raise SelfTestFailure(step, "the job was cancelled")
    return outcome["result"]


def _heavy_modules_loaded() -> list[str]:
    return [name for name in ("tensorflow", "keras") if name in sys.modules]


def _first_paint_recorder(window: Any) -> Any:
    """An application event filter noting when a widget of ``window`` is first painted."""
    from PySide6.QtCore import QEvent, QObject

    class FirstPaint(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.age: float | None = None
            self.loaded: list[str] = []

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if self.age is None and event.type() == QEvent.Type.Paint:
                widget_window = getattr(obj, "window", None)
                if callable(widget_window) and widget_window() is window:
                    self.age = process_age_s()
                    self.loaded = _heavy_modules_loaded()
            return False

    return FirstPaint()


def _use_offscreen_without_display() -> None:
    """Offscreen Qt on a Linux/Unix machine without a display (a server, CI, a terminal over ssh)."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _steps(folder: Path, progress: _Progress) -> str:
    """Every step in order; the summary line, or :class:`SelfTestFailure` / the step's own error."""
    from mfg_desktop.qt.settings import CONFIG_ENV

    # Settings (window geometry) of the self-test and Keras' keras.json, written when Keras is
    # imported, stay in its folder, never the user's.
    os.environ.setdefault(CONFIG_ENV, str(folder / "config"))
    os.environ.setdefault("KERAS_HOME", str(folder / "keras"))
    _use_offscreen_without_display()

    from PySide6.QtCore import QCoreApplication

    from mfg_desktop.qt.app import create_application, install_translators
    from mfg_desktop.qt.workers import run_in_thread, running_jobs

    progress.step = "window"
    app = create_application()
    translators = install_translators(app)
    from mfg_desktop.qt.main_window import MainWindow

    window = MainWindow()
    painted = _first_paint_recorder(window)
    app.installEventFilter(painted)
    try:
        if not window.restored_geometry:
            window.resize(1200, 800)
        window.show()
        _wait_until(lambda: painted.age is not None)
        app.removeEventFilter(painted)
        if painted.loaded:
            raise SelfTestFailure("window", f"{' and '.join(painted.loaded)} already loaded when the window "
                                            "first painted; it must load lazily")
        shown_after = float(painted.age)

        progress.step = "load"
        from mfg_desktop.resources import sample_data_path

        sample = sample_data_path()
        job = window.open_sample_data()
        if job is None:
            raise SelfTestFailure("load", window.banner.text() or f"the bundled sample {sample} did not open")
        data = _wait_job(job, "load")
        frame = window.session.frame
        if frame is not data.frame:
            raise SelfTestFailure("load", "the window did not take the loaded data into its session")
        rows = len(frame)
        check_loaded(rows)
        # The Data step profiles every load in the background; the report uses that profile.
        _wait_until(lambda: window.session.profile is not None)
        profile = window.session.profile
        files = [str(sample)]

        progress.step = "train"
        run, target_report = _wait_job(run_in_thread(_train_job, frame, files, SAMPLE_TARGET, name="self-test train"),
                                       "train")
        if run.cancelled or run.epochs_run != EPOCHS:
            raise SelfTestFailure("train", f"training ran {run.epochs_run} of {EPOCHS} epochs"
                                           + (" (cancelled)" if run.cancelled else ""))
        val_loss = check_history(run.history)

        progress.step = "evaluate"
        loaded, evaluation = _wait_job(run_in_thread(_evaluate_job, run, str(folder / "self-test.mfgmodel"), frame,
                                                     files, name="self-test evaluate"), "evaluate")
        evaluated = _metrics_text(evaluation)

        progress.step = "score"
        out_dir = folder / "scored"
        results = _wait_job(run_in_thread(_score_job, loaded, files, str(out_dir), name="self-test score"), "score")
        if len(results) != 1:
            raise SelfTestFailure("score", f"{len(results)} results for one file")
        scored = results[0]
        check_scores(scored.rows_read, scored.rows_scored, scored.scores, rows, scored.status, scored.error)
        if scored.output is None or not Path(scored.output).is_file():
            raise SelfTestFailure("score", f"the scored file {scored.output} was not written")

        progress.step = "report"
        pdf = folder / "self-test report.pdf"
        rendered = _wait_job(run_in_thread(_report_job, loaded, evaluation, profile, target_report, str(pdf),
                                           name="self-test report"), "report")
        pages = pdf_pages(pdf)
        if pages != rendered.pages:
            raise SelfTestFailure("report", f"the PDF has {pages} pages, the renderer drew {rendered.pages}")

        progress.step = "crash report"
        _provoke_unexpected_error()

        progress.step = "close"
        window.close()  # cancels and waits for the Data step's background jobs
        if running_jobs():
            raise SelfTestFailure("close", "jobs still running after the window closed: "
                                           + ", ".join(j.name for j in running_jobs()))
    finally:
        app.removeEventFilter(painted)
        if window.isVisible():
            window.close()
        window.deleteLater()
        QCoreApplication.processEvents()
        del translators
    return QCoreApplication.translate(
        "SelfTest", "self-test passed: window shown {shown:.2f} s after launch (TensorFlow not loaded yet), "
        "loaded {rows:,} rows, trained {epochs} epochs (val loss {loss:.3f}) on {device}, "
        "evaluated on {n:,} held-out rows ({metrics}), scored {scored:,} rows, "
        "report {pages} pages, crash report checked; {total:.1f} s total",
    ).format(shown=shown_after, rows=rows, epochs=EPOCHS, loss=val_loss, device=run.device, n=evaluation.n_rows,
             metrics=evaluated, scored=scored.rows_scored, pages=pages, total=process_age_s())


PROVOKED = "self-test: a provoked unexpected error"


def _provoke_unexpected_error() -> Path:
    """Raise one exception in a Qt slot, as a bug would: it must end in the error dialog and a
    crash report zip holding its traceback. The app's own error hooks are installed for it and
    the previous ones put back afterwards."""
    import zipfile

    import shiboken6
    from PySide6.QtCore import QTimer

    from mfg_desktop.core.crash import REPORT_PREFIX
    from mfg_desktop.qt.error_dialog import install_excepthook, setup_logging
    from mfg_desktop.qt.settings import config_dir

    setup_logging()  # the error goes to the log in the self-test's folder (its tail is in the report)
    before = set(config_dir().glob(f"{REPORT_PREFIX}*.zip"))
    hooks = sys.excepthook, threading.excepthook
    relay = install_excepthook()
    relay.last_dialog = None

    def provoked() -> None:
        raise RuntimeError(PROVOKED)

    try:
        QTimer.singleShot(0, provoked)
        _wait_until(lambda: relay.last_dialog is not None)
    finally:
        sys.excepthook, threading.excepthook = hooks
    dialog = relay.last_dialog
    shown = shiboken6.isValid(dialog) and dialog.isVisible() and PROVOKED in dialog.text()
    if shiboken6.isValid(dialog):
        dialog.close()
    if not shown:
        raise SelfTestFailure("crash report", "the unexpected error did not show the error dialog")
    reports = sorted(set(config_dir().glob(f"{REPORT_PREFIX}*.zip")) - before)
    if len(reports) != 1:
        raise SelfTestFailure("crash report", f"{len(reports)} crash reports written for one error")
    with zipfile.ZipFile(reports[0]) as zf:
        traceback_text = zf.read("traceback.txt").decode("utf-8")
    if f"RuntimeError: {PROVOKED}" not in traceback_text:
        raise SelfTestFailure("crash report", f"{reports[0].name} does not hold the error's traceback")
    return reports[0]


def _metrics_text(evaluation: Any) -> str:
    """The main metric (and ROC-AUC for a yes/no target), each checked to be a number."""
    from mfg_desktop.core.evaluate import METRIC_TEXT

    keys = [evaluation.main_metric]
    if "roc_auc" in evaluation.metrics and "roc_auc" not in keys:
        keys.append("roc_auc")
    parts = []
    for key in keys:
        value = evaluation.metrics.get(key)
        if value is None or not math.isfinite(float(value)):
            raise SelfTestFailure("evaluate", f"{METRIC_TEXT.get(key, key)} is {value}")
        parts.append(f"{METRIC_TEXT.get(key, key)} {float(value):.3f}")
    return ", ".join(parts)


def _fail(step: str, reason: str) -> None:
    from PySide6.QtCore import QCoreApplication

    text = QCoreApplication.translate("SelfTest", "self-test failed at {step}: {reason}")
    print(text.format(step=step, reason=reason), file=sys.stderr, flush=True)


def _time_out(progress: _Progress, timeout_s: float) -> None:
    """Watchdog: a hung step ends the process (worker threads cannot be stopped any other way)."""
    from PySide6.QtCore import QCoreApplication

    _fail(progress.step, QCoreApplication.translate("SelfTest", "timed out after {s:g} s").format(s=timeout_s))
    if progress.folder is not None:
        import shutil

        shutil.rmtree(progress.folder, ignore_errors=True)
    os._exit(1)


def run_self_test(timeout_s: float | None = None) -> int:
    """Run every step, print the summary line (stdout) or the failure (stderr); the exit status."""
    import traceback

    from mfg_desktop.core.errors import MfgError

    timeout_s = TIMEOUT_S if timeout_s is None else timeout_s
    progress = _Progress()
    watchdog = threading.Timer(timeout_s, _time_out, args=(progress, timeout_s))
    watchdog.daemon = True
    watchdog.start()
    try:
        with tempfile.TemporaryDirectory(prefix="mfg-desktop-self-test-", ignore_cleanup_errors=True) as tmp:
            progress.folder = Path(tmp)
            summary = _steps(Path(tmp), progress)
    except SelfTestFailure as exc:
        _fail(exc.step, exc.reason)
        return 1
    except MfgError as exc:  # an expected problem: its message says what and where
        _fail(progress.step, str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - anything else is a failure of the step, with its trace
        text = getattr(exc, "__traceback_text__", None) or traceback.format_exc()
        print(text.rstrip(), file=sys.stderr)
        _fail(progress.step, f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        watchdog.cancel()
    print(summary, flush=True)
    return 0
