"""The metrics of the network beside its baselines, and the network's per-class numbers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt.evaluate.labels import metric_label, model_labels
from mfg_desktop.qt.evaluate.state import MetricRow
from mfg_desktop.qt.evaluate.text import number_text, short

MAIN_METRIC_SHADE = "#eef5ec"
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def read_only_table(rows: int, columns: int) -> QTableWidget:
    table = QTableWidget(rows, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


class MetricsView(QGroupBox):
    """Metrics table (best value in bold, main metric shaded), the baselines' note, per-class table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Metrics on the evaluated rows (best in bold)"))
        self.table = read_only_table(0, 1)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumWidth(460)
        self.baseline_label = QLabel()
        self.baseline_label.setWordWrap(True)
        self.baseline_label.setStyleSheet("color: #555;")
        self.per_class_table = read_only_table(0, 4)
        self.per_class_table.setHorizontalHeaderLabels(
            [self.tr("Precision"), self.tr("Recall"), self.tr("F1"), self.tr("Rows")])
        self.per_class_caption = QLabel(self.tr("Network, per class:"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.baseline_label)
        layout.addWidget(self.per_class_caption)
        layout.addWidget(self.per_class_table, 2)

    def show_metrics(self, models: list[str], rows: list[MetricRow], main_metric: str, baseline_note: str,
                     chosen_marked: bool = False) -> None:
        """``models``: column keys, the chosen model first (marked as chosen when Auto compared two)."""
        labels = model_labels()
        # stacked at their natural breaks: five models share the table's width at 1366 x 768
        headers = [labels.get(n, n).replace(" + ", " +\n").replace(" (", "\n(").replace("（", "\n（")
                   for n in models]
        if chosen_marked and headers:
            headers[0] = self.tr("{model}\n(chosen)").format(model=headers[0])
        table = self.table
        table.clear()
        table.setColumnCount(len(models))
        table.setRowCount(len(rows))
        table.setHorizontalHeaderLabels(headers)
        self.per_class_caption.setText(self.tr("{model}, per class:").format(model=labels.get(models[0], models[0])))
        table.setVerticalHeaderLabels([metric_label(row.key) for row in rows])
        for r, row in enumerate(rows):
            for c, (value, best) in enumerate(zip(row.values, row.best, strict=True)):
                item = QTableWidgetItem(number_text(value))
                item.setTextAlignment(RIGHT)
                if best:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if row.main:
                    item.setBackground(QColor(MAIN_METRIC_SHADE))
                table.setItem(r, c, item)
        self.baseline_label.setText(baseline_note + "  " + self.tr("Main metric (shaded): {m}.").format(
            m=metric_label(main_metric)))

    def show_per_class(self, per_class: dict[str, dict[str, float]]) -> None:
        table = self.per_class_table
        table.setRowCount(len(per_class))
        table.setVerticalHeaderLabels([short(c, 22) for c in per_class])
        for r, values in enumerate(per_class.values()):
            cells = [number_text(values["precision"], 3), number_text(values["recall"], 3),
                     number_text(values["f1"], 3), f"{values['support']:,}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(RIGHT)
                table.setItem(r, c, item)

    def set_classification(self, classification: bool) -> None:
        """Per-class numbers exist for classes only."""
        self.per_class_table.setVisible(classification)
        self.per_class_caption.setVisible(classification)

    def clear(self) -> None:
        self.table.setRowCount(0)
