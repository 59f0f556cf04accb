"""Walk every step of the main window and collect every text a user can see.

Shared by ``tests/qt/test_chinese_window.py`` (fails on English prose under the Chinese catalog) and
``tests/benchmarks/screenshots_zh.py`` (grabs each step): the walk drives the window as the panel
tests do (load through the preview dialog, pick the target, train two epochs of the fast preset,
evaluate, score a file, export the report) and calls back after each step has settled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QSpinBox,
    QTabBar,
    QTabWidget,
    QTextEdit,
    QWidget,
)

TARGET = "Machine_failure"
# Names a Chinese engineer reads as they are (glossary: never translated), units, metric acronyms,
# the optimizers', activations' and encodings' own names, the formula language's functions, keyboard
# keys, and "English" (View › Language names each language in its own language).
ALLOWED_WORDS = {
    "tensorflow", "keras", "lightgbm", "ray", "pyside", "qt", "csv", "pdf", "excel", "mes", "scada", "roc",
    "auc", "pr", "rmse", "mae", "cpu", "gpu", "pca", "iqr", "adam", "adamw", "sgd", "relu", "gelu", "selu",
    "silu", "tanh", "swish", "utf", "bom", "gbk", "gb", "cp", "latin", "ctrl", "shift", "alt", "tab",
    "letter", "mib", "kib", "sqrt", "log", "exp", "abs", "min", "max", "pi", "pandas", "dtype", "int",
    "float", "object", "bool", "datetime", "str", "category", "dropout", "epoch", "ap", "platt", "isotonic",
    "elu", "huber", "big", "jis", "sig", "english", "xlsx", "xlsm",
    "xls", "tsv", "txt", "dat", "psi",  # PSI: the population stability index, drift's usual measure
}
# literal names of the app and its files: "mfg-desktop", "*.mfgmodel", "report.pdf"
# and file paths (the Help menu says where the settings live), run ids and fingerprints
NAME_PATTERNS = re.compile(r"mfg-desktop|(?:[A-Za-z]:)?(?:[/\\][^\s/\\]+){2,}[/\\]?|\*\.[A-Za-z]{2,9}\b|\.mfg\w+"
                           r"|\b[\w-]+\.(?:pdf|csv|xlsx|mfgmodel|mfgwork|log|zip|ini)\b"
                           r"|\b(?=[0-9a-f]*\d)[0-9a-f]{6,64}\b")  # run ids and sha256 fingerprints
WORD = re.compile(r"[A-Za-z]{3,}")


@dataclass(frozen=True)
class Seen:
    """One text on the screen and the widget it is on."""

    text: str
    widget: str  # class and objectName
    step: str = ""

    def __str__(self) -> str:
        return f"[{self.step}] {self.widget}: {self.text!r}"


def _name(obj: object, role: str = "") -> str:
    cls = type(obj).__name__
    name = obj.objectName() if hasattr(obj, "objectName") else ""
    return f"{cls}{'#' + name if name else ''}{' ' + role if role else ''}"


def plain(text: str) -> str:
    """A label's rich text as the user reads it."""
    if re.search(r"<(?:[a-zA-Z]+|/[a-zA-Z]+)[^<>]*>|&[a-z]+;", text):
        return QTextDocumentFragment.fromHtml(text).toPlainText()
    return text


def _model_texts(view: QAbstractItemView, max_rows: int = 40) -> Iterable[tuple[str, str]]:
    model = view.model()
    if model is None:
        return
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    rows = model.rowCount(QModelIndex())
    columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount(QModelIndex())  # private there
    for orientation, count in ((Qt.Orientation.Horizontal, columns), (Qt.Orientation.Vertical, min(rows, max_rows))):
        for section in range(count):
            for role in roles:
                value = model.headerData(section, orientation, role)
                if isinstance(value, str):
                    yield value, "header"
    for row in range(min(rows, max_rows)):
        for column in range(columns):
            index = model.index(row, column)
            for role in roles:
                value = model.data(index, role)
                if isinstance(value, str):
                    yield value, "cell"


def _plot_texts(widget: QWidget) -> Iterable[tuple[str, str]]:
    import pyqtgraph as pg

    for item in widget.scene().items() if isinstance(widget, pg.GraphicsView) else []:
        if isinstance(item, pg.AxisItem) and item.isVisible():
            if item.labelText:
                yield item.labelText, "axis label"
            for level in item._tickLevels or []:
                for _value, text in level:
                    yield str(text), "axis tick"
        elif isinstance(item, pg.LabelItem) and item.isVisible() and item.text:
            yield item.text, "label item"
        elif isinstance(item, pg.TextItem) and item.isVisible():
            yield item.textItem.toPlainText(), "text item"


def _menu_texts(menu: QMenu) -> Iterable[tuple[str, str]]:
    for action in menu.actions():
        for text in (action.text(), action.toolTip(), action.statusTip()):
            yield text, "action"
        if action.menu() is not None:
            yield from _menu_texts(action.menu())


def collect(top: QWidget, step: str = "") -> list[Seen]:
    """Every text shown by the visible widgets under ``top`` (and ``top``'s menus and title)."""
    found: list[tuple[str, str]] = [(top.windowTitle(), _name(top, "window title"))]
    if isinstance(top, QMainWindow):
        for action in top.menuBar().actions():
            found.append((action.text(), _name(top.menuBar())))
            if action.menu() is not None:
                found += [(text, f"QMenu {action.text()} {role}") for text, role in _menu_texts(action.menu())]
        found.append((top.statusBar().currentMessage(), "QStatusBar message"))
    for widget in [top, *top.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        where = _name(widget)
        found.append((widget.toolTip(), f"{where} tooltip"))
        if isinstance(widget, (QLabel, QAbstractButton)):
            found.append((widget.text(), where))
        elif isinstance(widget, QGroupBox):
            found.append((widget.title(), where))
        elif isinstance(widget, QTabBar):
            for i in range(widget.count()):
                found += [(widget.tabText(i), where), (widget.tabToolTip(i), f"{where} tooltip")]
        elif isinstance(widget, QComboBox):
            for i in range(widget.count()):
                found += [(widget.itemText(i), where),
                          (str(widget.itemData(i, Qt.ItemDataRole.ToolTipRole) or ""), f"{where} item tooltip")]
        elif isinstance(widget, QLineEdit):
            found.append((widget.placeholderText(), f"{where} placeholder"))
        elif isinstance(widget, (QTextEdit, QPlainTextEdit)):
            found.append((widget.toPlainText(), where))
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            found += [(widget.prefix(), where), (widget.suffix(), where), (widget.specialValueText(), where)]
        elif isinstance(widget, QAbstractItemView) and not isinstance(widget, QHeaderView):  # its view has it
            found += [(text, f"{where} {role}") for text, role in _model_texts(widget)]
        if type(widget).__module__.startswith("pyqtgraph"):
            found += [(text, f"{where} {role}") for text, role in _plot_texts(widget)]
    return [Seen(plain(text).strip(), where, step) for text, where in found if text and plain(text).strip()]


def clipped(top: QWidget, step: str = "") -> list[Seen]:
    """Visible labels and buttons too small for their text: a wrapped label lower than its text
    needs at its width, or a one-line label or button narrower than its text (a few pixels spare)."""
    found = []
    widgets = [*top.findChildren(QLabel), *top.findChildren(QAbstractButton)]
    for widget in [w for w in widgets if w.isVisible() and w.text()]:
        if isinstance(widget, QLabel) and widget.wordWrap():
            short = widget.height() + 2 < widget.heightForWidth(widget.width())
        elif isinstance(widget, QLabel) and widget.textFormat() != Qt.TextFormat.PlainText and "<" in widget.text():
            continue  # rich text lays out by its own rules; the wrapped case above covers the long ones
        else:
            short = widget.width() + 2 < widget.sizeHint().width()
        if short:
            size = f"{widget.width()}x{widget.height()}, needs {widget.sizeHint().width()}x" + (
                f"{widget.heightForWidth(widget.width())}" if isinstance(widget, QLabel) and widget.wordWrap()
                else f"{widget.sizeHint().height()}")
            found.append(Seen(plain(widget.text()).strip(), f"{_name(widget)} ({size})", step))
    return found


def user_words(frame: pd.DataFrame, paths: Iterable[str | Path]) -> set[str]:
    """The words of the user's data: column names, text values and file names."""
    words = set()
    for name in frame.columns:
        words.update(w.lower() for w in WORD.findall(str(name)))
    for column in frame.select_dtypes(include=["object", "string", "category"]).columns:
        for value in frame[column].dropna().astype(str).unique()[:1000]:
            words.update(w.lower() for w in WORD.findall(value))
    for path in paths:
        words.update(w.lower() for w in WORD.findall(Path(path).name))
        words.update(w.lower() for part in Path(path).parent.parts for w in WORD.findall(part))
    return words


def english_words(text: str, allowed: set[str]) -> list[str]:
    """The English words in ``text``: 3+ ASCII letters that are neither user data nor allowed."""
    return [w for w in WORD.findall(NAME_PATTERNS.sub(" ", text))
            if w.lower() not in allowed and w.lower() not in ALLOWED_WORDS]


def english(seen: Iterable[Seen], allowed: set[str]) -> list[Seen]:
    """The texts holding an English word."""
    return [item for item in seen if english_words(item.text, allowed)]


def report_lines(offenders: Iterable[Seen]) -> list[str]:
    """One line per distinct English text: the text, where it was seen (widgets, steps)."""
    where: dict[str, tuple[set[str], set[str]]] = {}
    for item in offenders:
        widgets, steps = where.setdefault(item.text, (set(), set()))
        widgets.add(item.widget)
        steps.add(item.step.split(" › ")[0])
    return [f"{text!r}\n      on {', '.join(sorted(widgets)[:3])} [{', '.join(sorted(steps))}]"
            for text, (widgets, steps) in sorted(where.items())]


def each_tab(top: QWidget) -> Iterable[str]:
    """Show each page of every visible tab widget in turn (restoring the current one after)."""
    for tabs in [t for t in top.findChildren(QTabWidget) if t.isVisible()]:
        current = tabs.currentIndex()
        for i in range(tabs.count()):
            tabs.setCurrentIndex(i)
            yield tabs.tabText(i)
        tabs.setCurrentIndex(current)


def small_ai4i(source: Path, folder: Path, rows: int = 600) -> Path:
    """The first ``rows`` rows of ai4i2020 (a few hundred, with failures among them) as a file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ai4i2020_slice.csv"
    pd.read_csv(source, encoding="utf-8-sig").iloc[:rows].to_csv(path, index=False)
    return path


Waiter = Callable[[Callable[[], bool], float], None]


def walk(window, wait_until: Waiter, data_path: Path, out_dir: Path, at_step: Callable[[str, QWidget], None]) -> None:
    """Drive ``window`` through every step; ``at_step(name, top_widget)`` once each has settled.

    ``wait_until(condition, timeout_s)`` runs the event loop until ``condition()`` holds.
    """
    from mfg_desktop.qt import workers

    def idle(timeout_s: float = 180) -> None:
        wait_until(lambda: not workers.running_jobs(), timeout_s)

    at_step("start", window)
    window.open_files([str(data_path)])  # the preview dialog, as File › Open shows it
    dialog = window.load_dialog
    wait_until(lambda: dialog.ok_button.isEnabled() and not workers.running_jobs(), 60)
    at_step("load dialog", dialog)
    dialog.accept()
    wait_until(lambda: window.session.profile is not None, 60)
    data = window.data_panel
    data.pick_target(TARGET)
    wait_until(lambda: window.session.target_report is not None, 60)
    data.select_column("Torque [Nm]")
    wait_until(lambda: not workers.running_jobs() and data.plot_column == "Torque [Nm]", 60)
    at_step("data", window)

    window.show_step("prepare")
    wait_until(lambda: window.session.recipe is not None, 60)
    idle()
    at_step("prepare", window)

    window.show_step("train")
    train = window.page("train")
    train.apply_preset("fast")
    train.set_settings(epochs=2, hidden="16")
    job = train.train()
    assert job is not None, "the Train step did not start"
    wait_until(lambda: len(window.session.runs) == 1 and not job.is_running(), 300)
    wait_until(lambda: window.device_label.isVisible(), 60)
    idle()
    at_step("train", window)

    window.show_step("evaluate")
    evaluate = window.page("evaluate")
    wait_until(lambda: evaluate.evaluation is not None and not evaluate.is_busy(), 180)
    idle()
    evaluate.explain_row(0)  # the One row tab shows a row's contributions
    at_step("evaluate", window)

    window.show_step("predict")
    predict = window.page("predict")
    predict.use_current_run()
    batch = out_dir / "batch_0412.csv"
    pd.read_csv(data_path).iloc[:200].drop(columns=[TARGET]).to_csv(batch, index=False)
    predict.add_paths([batch])
    job = predict.score()
    assert job is not None, "the Predict step did not start scoring"
    wait_until(lambda: not job.is_running() and predict.results, 120)
    idle()
    at_step("predict", window)

    window.show_step("report")
    report = window.page("report")
    report.fields["plant"].setText("苏州工厂")
    report.path_edit.setText(str(out_dir / "report.pdf"))
    job = report.export()
    assert job is not None, "the Report step did not start the export"
    wait_until(lambda: not job.is_running(), 120)
    idle()
    at_step("report", window)
