"""An inline message strip for expected problems ("ai4i.csv: file is empty ...").

Shown at the top of the window instead of a modal dialog: the user reads it, fixes the input and
carries on; the app stays usable.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {
    "error": ("#fdecea", "#b3261e", "#611a15"),
    "warning": ("#fff4e5", "#e8a33d", "#663c00"),
    "info": ("#e8f1fb", "#4a86c5", "#0d3c61"),
}


class MessageBanner(QFrame):
    """A dismissable message with a level: 'error', 'warning' or 'info'."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.level = "info"
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextFormat(Qt.TextFormat.PlainText)  # file names may contain '<' or '&'
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._close = QToolButton(self)
        self._close.setText("✕")
        self._close.setToolTip(self.tr("Dismiss this message"))
        self._close.setAutoRaise(True)
        self._close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def text(self) -> str:
        return self._label.text()

    def show_message(self, text: str, level: str = "error") -> None:
        background, border, foreground = _STYLES.get(level, _STYLES["info"])
        self.level = level
        self.setStyleSheet(
            f"#messageBanner {{ background: {background}; border: 1px solid {border};"
            f" border-left: 5px solid {border}; border-radius: 4px; }}"
            f" #messageBanner QLabel {{ color: {foreground}; }}"
        )
        self._label.setText(text)
        self.show()

    def clear(self) -> None:
        self._label.clear()
        self.hide()
