"""The Data quality tab: one row per column (type, missing, distinct, range, outliers, notes) and the
selected column's notes below."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTableView, QTextBrowser, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from mfg_desktop.core.profile import DataProfile, TargetReport

NOTES_HEIGHT = 130


class QualityView(QWidget):
    """Shows a :class:`~mfg_desktop.core.profile.DataProfile`; tells which column is selected."""

    column_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile_model: Any = None
        self.profile_view = QTableView()
        self.profile_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.profile_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.profile_view.setWordWrap(False)
        self.profile_view.verticalHeader().setDefaultSectionSize(self.profile_view.fontMetrics().height() + 8)
        self.profile_view.verticalHeader().hide()
        self.profile_view.horizontalHeader().setStretchLastSection(True)
        self.profile_status = QLabel()
        self.quality_notes = QTextBrowser()
        self.quality_notes.setMaximumHeight(NOTES_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.profile_status)
        layout.addWidget(self.profile_view, 1)
        layout.addWidget(self.quality_notes)

    def clear(self, status: str = "") -> None:
        self.profile_view.setModel(None)
        if self.profile_model is not None:
            self.profile_model.deleteLater()
            self.profile_model = None
        self.quality_notes.clear()
        self.profile_status.setText(status)

    def set_profile(self, profile: DataProfile, status: str) -> None:
        from mfg_desktop.qt.profile_model import ProfileModel

        self.profile_model = ProfileModel(profile, parent=self)
        self.profile_view.setModel(self.profile_model)
        header = self.profile_view.horizontalHeader()
        # the last column (notes) takes the remaining width (stretchLastSection); long notes are
        # elided, the tooltip and the details below the table show them whole
        for column, width in enumerate(self.profile_model.column_widths(header.fontMetrics())[:-1]):
            header.resizeSection(column, width)
        self.profile_view.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.profile_status.setText(status)

    def set_target_report(self, report: TargetReport | None) -> None:
        if self.profile_model is not None:
            self.profile_model.set_target_report(report)

    def current_column(self) -> str | None:
        current = self.profile_view.currentIndex()
        if self.profile_model is None or not current.isValid():
            return None
        return self.profile_model.column_profile(current.row()).name

    def select(self, name: str) -> bool:
        """Make ``name`` the current row (which emits ``column_selected``); False when it is not listed."""
        if self.profile_model is None:
            return False
        for row in range(self.profile_model.rowCount()):
            if self.profile_model.column_profile(row).name == name:
                self.profile_view.setCurrentIndex(self.profile_model.index(row, 0))
                self.profile_view.scrollTo(self.profile_model.index(row, 0))
                return True
        return False

    def set_notes(self, html_text: str) -> None:
        self.quality_notes.setHtml(html_text)

    @Slot(QModelIndex, QModelIndex)
    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.profile_model is not None:
            self.column_selected.emit(self.profile_model.column_profile(current.row()).name)
