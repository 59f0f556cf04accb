"""The row of large numbers above the live curves: epoch, samples/s, elapsed, remaining, best epoch."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mfg_desktop.qt.train.text import clock


class StatTile(QFrame):
    """A caption over a large value."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statTile")
        self.setStyleSheet("#statTile { background: #f3f5f8; border-radius: 4px; }")
        self.caption = QLabel(caption)
        self.caption.setStyleSheet("color: #666;")
        self.value = QLabel("—")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.value.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)

    def set(self, text: str) -> None:
        self.value.setText(text)


class TrainingTiles(QWidget):
    """The five tiles of a training, filled from its per-epoch updates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.epoch = StatTile(self.tr("Epoch"))
        self.speed = StatTile(self.tr("Samples / s"))
        self.elapsed = StatTile(self.tr("Elapsed"))
        self.remaining = StatTile(self.tr("Remaining (at most)"))
        self.best = StatTile(self.tr("Best epoch"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for tile in self.tiles():
            layout.addWidget(tile)

    def tiles(self) -> tuple[StatTile, ...]:
        return (self.epoch, self.speed, self.elapsed, self.remaining, self.best)

    def start(self, epochs: int, best_caption: str) -> None:
        """A training of at most ``epochs`` epochs starts; ``best_caption`` says what picks the best."""
        self.best.caption.setText(best_caption)
        for tile in self.tiles():
            tile.set("—")
        self.epoch.set(f"0 / {epochs}")

    def show_epoch(self, update: Any) -> None:
        """An EpochUpdate's numbers."""
        self.epoch.set(f"{update.epoch} / {update.epochs}")
        self.speed.set(f"{update.samples_per_s:,.0f}")
        self.elapsed.set(clock(update.elapsed_s))
        # core gives no estimate until it is stable (the first epochs include graph tracing)
        self.remaining.set("…" if update.remaining_s is None else clock(update.remaining_s))
        self.best.set(str(update.best_epoch))

    def finish(self) -> None:
        self.remaining.set(clock(0))
