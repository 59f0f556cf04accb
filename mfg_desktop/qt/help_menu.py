"""The Help menu: a short guide to the steps, the keyboard shortcuts, where settings and the log live."""

from __future__ import annotations

import html

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from mfg_desktop import __version__
from mfg_desktop.qt.settings import app_settings, config_dir, log_path


def tr(text: str) -> str:
    return QCoreApplication.translate("Help", text)


def guide_html() -> str:
    steps = [
        (tr("Data"), tr("File › Open (Ctrl+O) or drop CSV/Excel files on the window. Check the preview "
                         "(encoding, delimiter, decimal mark, sheet), then read the data-quality table and "
                         "pick the target column: the app suggests one and warns about columns that leak it.")),
        (tr("Prepare"), tr("Tick the input columns, choose how missing values are filled and numbers "
                            "scaled, add derived columns as formulas, and choose the split: random, by time "
                            "or by machine/batch. The recipe is fitted on the training rows only.")),
        (tr("Train"), tr("Pick a preset (fast, balanced, thorough) or your own network and press Train; "
                          "loss and accuracy are drawn live. Cancel keeps the best weights. Save the model "
                          "as one .mfgmodel file.")),
        (tr("Evaluate"), tr("Metrics on the held-out test rows beside a trivial baseline and gradient "
                             "boosting; set the decision threshold with the costs of a miss and a false alarm.")),
        (tr("Predict"), tr("Score new files or a watched folder with the model; each file's schema is "
                            "checked and drift is reported per input. Export CSV or Excel.")),
        (tr("Report"), tr("File › Export report (Ctrl+E) writes a PDF of data, model and results for "
                           "the quality file.")),
    ]
    items = "".join(f"<li><b>{html.escape(t)}</b> — {html.escape(d)}</li>" for t, d in steps)
    note = html.escape(tr("Nothing leaves this computer: the app opens no network connection."))
    return f"<ol>{items}</ol><p>{note}</p>"


def shortcuts() -> list[tuple[str, str]]:
    return [
        ("Ctrl+O", tr("Open data files")),
        ("Ctrl+E", tr("Export the PDF report")),
        ("Ctrl+Q", tr("Quit")),
        ("F1", tr("This guide")),
    ]


def _table(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>"
                               for k, v in rows) + "</table>"


def where_html() -> str:
    rows = [
        (tr("Settings"), app_settings().fileName()),
        (tr("Log file"), str(log_path())),
        (tr("Autosaved work"), str(config_dir() / "autosave.mfgwork")),
        (tr("Crash reports"), str(config_dir() / "mfg-desktop-crash-*.zip")),
        (tr("Folder"), str(config_dir())),
    ]
    hint = html.escape(tr("Hand the log file or a crash report to IT when something went wrong; they hold "
                           "no data values and are never sent anywhere. "
                           "Deleting the settings file resets the app's choices."))
    return f"{_table(rows)}<p>{hint}</p>"


def build_help_menu(window: QMainWindow) -> dict[str, QAction]:
    """Add the Help menu to ``window``'s menu bar; its actions by name."""
    menu = window.menuBar().addMenu(tr("&Help"))

    def add(text: str, show, shortcut: str = "") -> QAction:
        action = QAction(text, window)
        if shortcut:
            action.setShortcut(shortcut)
        action.triggered.connect(show)
        menu.addAction(action)
        return action

    actions = {
        "guide": add(tr("&Getting started"), lambda: _show(window, tr("Getting started"), guide_html()), "F1"),
        "shortcuts": add(tr("&Keyboard shortcuts"),
                         lambda: _show(window, tr("Keyboard shortcuts"), _table(shortcuts()))),
        "where": add(tr("&Where settings and logs live"),
                     lambda: _show(window, tr("Settings and logs"), where_html())),
    }
    menu.addSeparator()
    actions["about"] = add(tr("&About"), lambda: QMessageBox.about(window, tr("About mfg-desktop"), tr(
        "mfg-desktop {version}\n\nAn offline machine-learning workbench for factory data. "
        "Nothing leaves this computer.").format(version=__version__)))
    return actions


def _show(parent: QWidget, title: str, body: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, body, QMessageBox.StandardButton.Close, parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setModal(False)
    box.open()
    return box
