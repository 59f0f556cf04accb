"""The "Watch a folder" tab: which folder, where scored files go, how often to look, and the log."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt.settings import dialog_folder, remember_folder


class WatchBox(QWidget):
    """The watch settings and log. Start and Stop go out as signals; the panel runs the watcher."""

    start_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.watch_folder = QLineEdit()
        self.watch_folder.setPlaceholderText(self.tr("the folder the line exports into"))
        self.watch_out = QLineEdit()
        self.watch_out.setPlaceholderText(self.tr("a separate folder for the scored files"))
        browse_in = QPushButton(self.tr("Browse…"))
        browse_in.clicked.connect(lambda: self.browse_into(self.watch_folder))
        browse_out = QPushButton(self.tr("Browse…"))
        browse_out.clicked.connect(lambda: self.browse_into(self.watch_out))
        self.poll_spin = QDoubleSpinBox()
        self.poll_spin.setRange(0.2, 3600)
        self.poll_spin.setValue(2.0)
        self.poll_spin.setSuffix(self.tr(" s"))
        self.stable_spin = QDoubleSpinBox()
        self.stable_spin.setRange(0.0, 3600)
        self.stable_spin.setValue(2.0)
        self.stable_spin.setSuffix(self.tr(" s"))
        self.stable_spin.setToolTip(self.tr("A file is scored once its size has not changed for this long, "
                                            "so a file the line is still writing is never read half-way."))
        for spin in (self.poll_spin, self.stable_spin):
            spin.setMaximumWidth(120)
        self.start_watch_button = QPushButton(self.tr("Start watching"))
        self.start_watch_button.clicked.connect(self.start_requested)
        self.stop_watch_button = QPushButton(self.tr("Stop"))
        self.stop_watch_button.clicked.connect(self.stop_requested)
        self.watch_state = QLabel(self.tr("Not watching."))
        self.watch_log = QPlainTextEdit()
        self.watch_log.setReadOnly(True)
        self.watch_log.setMaximumBlockCount(5000)

        form = QFormLayout()
        row_in = QHBoxLayout()
        row_in.addWidget(self.watch_folder, 1)
        row_in.addWidget(browse_in)
        row_out = QHBoxLayout()
        row_out.addWidget(self.watch_out, 1)
        row_out.addWidget(browse_out)
        form.addRow(self.tr("Watch folder"), row_in)
        form.addRow(self.tr("Write scored files to"), row_out)
        form.addRow(self.tr("Look every"), self.poll_spin)
        form.addRow(self.tr("Unchanged for"), self.stable_spin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_watch_button)
        buttons.addWidget(self.stop_watch_button)
        buttons.addWidget(self.watch_state, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(QLabel(self.tr("Log")))
        layout.addWidget(self.watch_log, 1)

    def browse_into(self, edit: QLineEdit) -> None:
        """Pick a folder for ``edit``, starting at the one typed there, else the folder last used."""
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a folder"), edit.text().strip() or dialog_folder())
        if folder:
            remember_folder(folder)
            edit.setText(folder)

    def folders(self) -> tuple[str, str]:
        return self.watch_folder.text(), self.watch_out.text()

    def set_folders(self, folder: str, out_dir: str) -> None:
        self.watch_folder.setText(folder)
        self.watch_out.setText(out_dir)

    def set_watching(self, folder: str | None) -> None:
        self.watch_state.setText(self.tr("Watching {folder}").format(folder=folder) if folder
                                 else self.tr("Not watching."))

    def set_stopping(self) -> None:
        self.watch_state.setText(self.tr("Stopping…"))
