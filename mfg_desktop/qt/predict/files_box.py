"""The left column of "Score files": the files to score, Score/Cancel, progress, and the results list."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt.context import data_file_filters
from mfg_desktop.qt.predict.text import STATUS_COLOURS, result_item_text
from mfg_desktop.qt.settings import dialog_folder, remember_folder


class FilesBox(QWidget):
    """Lists what to score and the results; asks for files and folders. Signals out, setters in."""

    paths_chosen = Signal(list)  # list[str]: files or folders the user picked
    remove_requested = Signal(list)  # list[str]: the selected entries
    score_requested = Signal()
    cancel_requested = Signal()
    result_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file_list = QListWidget()
        self.file_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.add_files_button = QPushButton(self.tr("Add files…"))
        self.add_files_button.clicked.connect(self.choose_files)
        self.add_folder_button = QPushButton(self.tr("Add folder…"))
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.clicked.connect(
            lambda: self.remove_requested.emit([i.data(Qt.ItemDataRole.UserRole) for i in self.file_list.selectedItems()]))
        self.score_button = QPushButton(self.tr("Score"))
        self.score_button.setDefault(True)
        self.score_button.clicked.connect(self.score_requested)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.result_list = QListWidget()
        self.result_list.currentRowChanged.connect(self.result_selected)

        row1 = QHBoxLayout()
        row1.addWidget(self.add_files_button)
        row1.addWidget(self.add_folder_button)
        row1.addWidget(self.remove_button)
        row2 = QHBoxLayout()
        row2.addWidget(self.score_button, 1)
        row2.addWidget(self.cancel_button)
        self.setFixedWidth(340)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("Files to score")))
        layout.addWidget(self.file_list, 2)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(QLabel(self.tr("Results")))
        layout.addWidget(self.result_list, 3)

    # -- dialogs --------------------------------------------------------------------------------
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Files to score"), dialog_folder(), data_file_filters())
        if paths:
            remember_folder(paths[0])
            self.paths_chosen.emit(paths)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("A folder of files to score"), dialog_folder())
        if folder:
            remember_folder(folder)
            self.paths_chosen.emit([folder])

    # -- setters --------------------------------------------------------------------------------
    def set_paths(self, paths: list[str]) -> None:
        self.file_list.clear()
        for p in paths:
            item = QListWidgetItem(("📁 " if Path(p).is_dir() else "") + Path(p).name)
            item.setToolTip(p)
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.file_list.addItem(item)

    def set_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress_label.setText(message)

    def clear_results(self) -> None:
        self.result_list.clear()

    def add_result(self, result) -> None:
        item = QListWidgetItem(result_item_text(result))
        item.setForeground(QBrush(QColor(STATUS_COLOURS[result.status])))
        item.setToolTip(str(result.path))
        self.result_list.addItem(item)

    def select_result(self, row: int) -> None:
        if row != self.result_list.currentRow():
            self.result_list.setCurrentRow(row)
