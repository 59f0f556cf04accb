"""Application bootstrap: QApplication, icon, translations, error hooks, the main window.

This module and what it imports at the top stay light (PySide6 only): the window must be on the
screen long before pandas, pyqtgraph or TensorFlow have loaded. Never import tensorflow/keras here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QLibraryInfo, QLocale, QTimer, QtMsgType, QTranslator, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from mfg_desktop.core import i18n
from mfg_desktop.qt.settings import APP_NAME, ORGANIZATION

if TYPE_CHECKING:
    from mfg_desktop.qt.main_window import MainWindow

class CatalogTranslator(QTranslator):
    """Qt's ``tr()`` and ``QCoreApplication.translate()`` answered from the app's one gettext catalog
    (``core.i18n``), so the window, the core and the CLI share every translation."""

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str | None:
        # None, not "": PySide6 hands "" to Qt as an empty translation (a blank label), None as "none here"
        return i18n.lookup(source) or None

    def isEmpty(self) -> bool:
        return False


def install_translators(app: QApplication, language: str | None = None) -> list[QTranslator]:
    """Use ``language`` (default: ``MFG_LANG``, else the saved choice, else the system's) for the
    app's strings, and Qt's own translations (standard buttons, the file dialog) for the same one.

    Returns the installed translators, which must stay referenced while installed; none for English.
    """
    from mfg_desktop.qt.language_menu import saved_choice

    chosen = i18n.set_language(language or saved_choice())
    if chosen == i18n.ENGLISH:  # numbers and paper size keep following the system's locale
        return []
    locale = QLocale(chosen)
    QLocale.setDefault(locale)
    ours = CatalogTranslator(app)
    app.installTranslator(ours)
    installed: list[QTranslator] = [ours]
    qt_own = QTranslator(app)
    if qt_own.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt_own)
        installed.append(qt_own)
    return installed


def app_icon() -> QIcon:
    from mfg_desktop.resources import resource_path

    return QIcon(str(resource_path("icons", "mfg_desktop.svg")))


def _qt_message(kind: QtMsgType, context: object, message: str) -> None:
    """Qt's own warnings ("This plugin does not support propagateSizeHints()") go to the log file
    (error_dialog.setup_logging), not to the user's terminal; ``--verbose`` shows them there too."""
    import logging

    from mfg_desktop.core.backend import is_verbose

    serious = kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
    # INFO, not WARNING: without a log file (the self-test) Python's last-resort handler would
    # print warnings to stderr, which is exactly what this handler is for avoiding.
    logging.getLogger("mfg_desktop.qt").log(logging.ERROR if serious else logging.INFO, "Qt: %s", message)
    if is_verbose() and not serious:
        print(f"Qt: {message}", file=sys.stderr, flush=True)


def install_qt_message_handler() -> None:
    qInstallMessageHandler(_qt_message)


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (reused if one exists, as under pytest-qt), named and with its icon."""
    # A worker thread running Python holds the GIL for up to the switch interval (default 5 ms)
    # each time the GUI thread needs it, and a table view calls into Python (data(), rowCount())
    # thousands of times per paint. A shorter interval keeps scrolling smooth while jobs run.
    sys.setswitchinterval(0.001)
    install_qt_message_handler()
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationDisplayName("mfg-desktop")
    app.setWindowIcon(app_icon())
    return app


MODEL_SUFFIX = ".mfgmodel"


def open_paths(window: MainWindow, paths: Sequence[str]) -> None:
    """Open what the command line names (a double-click in the file manager lands here): model
    files in the Predict step, every other file as data (one table, as File > Open would)."""
    models = [str(p) for p in paths if str(p).lower().endswith(MODEL_SUFFIX)]
    data = [str(p) for p in paths if not str(p).lower().endswith(MODEL_SUFFIX)]
    if data:
        window.load_files(data)
    if models:  # one model is in use at a time: the last one named
        window.show_step("predict")
        window.page("predict").open_model(models[-1])


def run_app(files: list[str] | None = None, demo: bool = False) -> int:
    """Open the main window; load ``files`` (detected settings, no preview) or the sample data."""
    app = create_application()
    translators = install_translators(app)
    from mfg_desktop.qt.error_dialog import install_excepthook, setup_logging
    from mfg_desktop.qt.main_window import MainWindow

    setup_logging()
    install_excepthook()
    window = MainWindow()
    if not window.restored_geometry:
        screen = app.primaryScreen().availableGeometry()
        window.resize(min(1400, int(screen.width() * 0.9)), min(900, int(screen.height() * 0.9)))
    window.show()
    # Start loading once the window is painted, so the user sees it immediately.
    if files:
        QTimer.singleShot(0, lambda: open_paths(window, list(files)))
    elif demo:
        QTimer.singleShot(0, window.open_sample_data)
    else:  # the last session crashed: offer its autosaved work
        QTimer.singleShot(0, window.work.offer_restore_after_crash)
    code = app.exec()
    # A window closed within a second or two of opening (a bad file on the command line) ends
    # app.exec() while the background imports may still be inside a C++ extension's set-up;
    # Python finalizing under them aborts the process ("terminate called without an active
    # exception"). They finish within seconds.
    from mfg_desktop.qt import preload

    preload.wait(timeout=60)
    del translators
    return int(code)
