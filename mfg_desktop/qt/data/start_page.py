"""What the Data step shows before any data is loaded: what to open, and how."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

TEXT_WIDTH = 560


class StartPage(QWidget):
    """Open files or the sample data; the requests go out as signals."""

    open_files_requested = Signal()
    sample_data_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel(self.tr("Start with your data"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        text = QLabel(
            self.tr(
                "Open CSV, text or Excel exports from your MES, SCADA or inspection station. "
                "Several files with the same columns (one per day, per line) are joined into one table."
            )
        )
        text.setWordWrap(True)
        # A centred (aligned) layout item does not ask a wrapped label its height for its width,
        # so the second line was cut off (in Chinese the first too): fix both.
        text.setFixedWidth(TEXT_WIDTH)
        text.setMinimumHeight(text.heightForWidth(TEXT_WIDTH))
        open_button = QPushButton(self.tr("Open files…"))
        open_button.clicked.connect(self.open_files_requested)
        sample_button = QPushButton(self.tr("Open sample data"))
        sample_button.clicked.connect(self.sample_data_requested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(open_button)
        buttons.addWidget(sample_button)
        buttons.addStretch(1)
        hint = QLabel(self.tr("…or drop files on this window."))
        hint.setStyleSheet("color: #666;")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (title, text):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addWidget(hint, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
