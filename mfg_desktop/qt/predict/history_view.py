"""The Predict step's "Per entity" tab for a history model: which machine needs attention first.

The per-entity summary of the file just scored (``<name>_entities.csv``), ranked by risk (lowest
remaining life or highest p(fail) first, :func:`mfg_desktop.core.history_eval.rank_by_risk`), with
the trend of the prediction; entities shorter than the longest window are scored with the rows they
have and shaded. Below it, for the entity and the sensor chosen, two plots on one order axis: the
sensor's readings, and the model's prediction along the history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt import plots
from mfg_desktop.qt.evaluate.history_view import NumberItem, fit_columns

if TYPE_CHECKING:
    from mfg_desktop.core.score import FileScore

SHORT_SHADE = QColor("#fff0d9")
SENSOR_COLOR = "#3a9a4a"
PREDICTION_COLOR = "#2f6fb0"
SHORT_COLOR = "#e8a33d"


def _is_time(values: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(values.dtype)


class HistoryScoreView(QWidget):
    """Ranked per-entity summary, and the chosen entity's sensor and prediction along its history."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: FileScore | None = None
        self.spec: dict[str, Any] = {}
        self.score_column = "prediction"
        self.ranked: pd.DataFrame | None = None
        self.rank_label = QLabel()
        self.rank_label.setWordWrap(True)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().hide()  # the rank is the row's place; the entity id is the first column
        self.table.itemSelectionChanged.connect(self._table_row_picked)
        self.entity_combo = QComboBox()
        self.entity_combo.setMinimumContentsLength(8)
        self.sensor_combo = QComboBox()
        self.sensor_combo.setMinimumContentsLength(10)
        self.entity_combo.currentTextChanged.connect(lambda _text: self.draw())
        self.sensor_combo.currentTextChanged.connect(lambda _text: self.draw())
        self.sensor_plot = plots.plot_widget("", "", "")
        self.prediction_plot = plots.plot_widget("", "", "")
        self.prediction_plot.setXLink(self.sensor_plot)  # one order axis for both

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.rank_label)
        ll.addWidget(self.table, 1)
        pickers = QHBoxLayout()
        pickers.addWidget(QLabel(self.tr("Entity")))
        pickers.addWidget(self.entity_combo, 1)
        pickers.addWidget(QLabel(self.tr("Sensor")))
        pickers.addWidget(self.sensor_combo, 2)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(pickers)
        rl.addWidget(self.sensor_plot, 1)
        rl.addWidget(self.prediction_plot, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([430, 570])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def clear(self) -> None:
        self.result = None
        self.ranked = None
        self.rank_label.setText("")
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        for combo in (self.entity_combo, self.sensor_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.blockSignals(False)
        self.sensor_plot.getPlotItem().clear()
        self.prediction_plot.getPlotItem().clear()

    def show_result(self, result: FileScore | None, spec: dict[str, Any] | None) -> bool:
        """Show a scored history file; False (and nothing shown) for any other result."""
        self.clear()
        if result is None or result.entities is None or result.history_rows is None or not spec:
            return False
        from mfg_desktop.core.history_eval import rank_by_risk
        from mfg_desktop.core.score import SHORT_COLUMN, TREND_COLUMN

        self.result, self.spec = result, dict(spec)
        self.score_column = result.score_label if result.task == "binary" else "prediction"
        ranked, how = rank_by_risk(result.entities, str(spec.get("label", "none")), result.task)
        self.ranked = ranked
        n_short = int(ranked[SHORT_COLUMN].sum()) if SHORT_COLUMN in ranked else 0
        text = how
        if n_short:
            text += " " + self.tr("{n} shaded: shorter than the longest window, scored with the rows they have."
                                  ).format(n=n_short)
        self.rank_label.setText(text)
        headers = {SHORT_COLUMN: self.tr("short history"), TREND_COLUMN: self.tr("trend"),
                   "latest prediction": self.tr("latest prediction"), "rows": self.tr("rows")}
        columns = list(ranked.columns)
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels([headers.get(c, c) for c in columns])
        if TREND_COLUMN in columns:
            unit = (self.tr("hour") if spec.get("order_kind") == "time" else
                    str(spec["order"]) if spec.get("order") else self.tr("row"))
            self.table.horizontalHeaderItem(columns.index(TREND_COLUMN)).setToolTip(
                self.tr("Change of the prediction per {unit}, over the entity's last rows").format(unit=unit))
        self.table.setRowCount(len(ranked))
        for r, row in enumerate(ranked.itertuples(index=False, name=None)):
            short = bool(row[columns.index(SHORT_COLUMN)]) if SHORT_COLUMN in columns else False
            for c, value in enumerate(row):
                if columns[c] == SHORT_COLUMN:
                    value = self.tr("yes") if value else ""
                item = NumberItem(value if not isinstance(value, np.generic) else value.item())
                if short:
                    item.setBackground(SHORT_SHADE)
                    item.setToolTip(self.tr("Shorter than the longest window: scored with the rows it has"))
                self.table.setItem(r, c, item)
        fit_columns(self.table, widest=110)
        names = [str(v) for v in ranked.iloc[:, 0]]
        self.entity_combo.blockSignals(True)
        self.entity_combo.addItems(names)
        self.entity_combo.blockSignals(False)
        sensors = [c for c in spec.get("inputs", []) if c in result.history_rows.columns]
        self.sensor_combo.blockSignals(True)
        self.sensor_combo.addItems(sensors)
        telling = self.telling_sensor(sensors)
        if telling:
            self.sensor_combo.setCurrentText(telling)
        self.sensor_combo.blockSignals(False)
        self.draw()
        return True

    def telling_sensor(self, sensors: list[str]) -> str | None:
        """The sensor that moves most with the prediction in this file (largest |correlation|): the first
        one worth looking at, rather than an operating setting that happens to be listed first."""
        rows = self.result.history_rows
        score = self.score_column if self.score_column in rows.columns else "prediction"
        if not sensors or score not in rows.columns or len(rows) < 3:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = rows[sensors].corrwith(rows[score]).abs()
        return None if corr.isna().all() else str(corr.idxmax())

    def _table_row_picked(self) -> None:
        model = self.table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        if rows:
            self.entity_combo.setCurrentIndex(rows[0].row())

    def entity_rows(self, name: str) -> pd.DataFrame:
        """The scored rows of one entity, in their order."""
        rows = self.result.history_rows
        entity = self.spec.get("entity")
        if entity and entity in rows.columns:
            rows = rows[rows[entity].astype(str) == name]
        order = self.spec.get("order")
        if order and order in rows.columns:
            rows = rows.sort_values(order, kind="stable")
        return rows

    def draw(self) -> None:
        sensor_item, prediction_item = self.sensor_plot.getPlotItem(), self.prediction_plot.getPlotItem()
        sensor_item.clear()
        prediction_item.clear()
        if self.result is None or not self.entity_combo.currentText():
            return
        from mfg_desktop.core.score import SHORT_COLUMN

        name = self.entity_combo.currentText()
        rows = self.entity_rows(name)
        order = self.spec.get("order")
        if order and order in rows.columns:
            values = rows[order]
            x = (values.astype("int64") / 1e9).to_numpy(dtype=np.float64) if _is_time(values) \
                else values.to_numpy(dtype=np.float64)
            x_label = str(order)
        else:
            x, x_label = np.arange(1, len(rows) + 1, dtype=np.float64), self.tr("row in the history")
        dates = bool(order and order in rows.columns and _is_time(rows[order]))
        for item in (sensor_item, prediction_item):
            axis = pg.DateAxisItem(orientation="bottom") if dates else pg.AxisItem(orientation="bottom")
            item.setAxisItems({"bottom": axis})
        entity = self.spec.get("entity") or self.tr("entity")
        sensor = self.sensor_combo.currentText()
        if sensor:
            sensor_item.setTitle(self.tr("{entity} {name}: {sensor}").format(entity=entity, name=name, sensor=sensor),
                                 size="10pt")
            sensor_item.setLabel("left", sensor)
            sensor_item.plot(x, rows[sensor].to_numpy(dtype=np.float64), pen=pg.mkPen(SENSOR_COLOR, width=2))
        score = self.score_column if self.score_column in rows.columns else "prediction"
        y = rows[score].to_numpy(dtype=np.float64)
        label = self.tr("predicted remaining life") if self.spec.get("label") == "rul" else score
        prediction_item.setTitle(self.tr("{entity} {name}: {score}").format(entity=entity, name=name, score=label),
                                 size="10pt")
        prediction_item.setLabel("left", None)  # the title says it; a long axis label is clipped on a low plot
        prediction_item.setLabel("bottom", x_label)
        prediction_item.plot(x, y, pen=pg.mkPen(PREDICTION_COLOR, width=2))
        short = rows[SHORT_COLUMN].to_numpy(dtype=bool) if SHORT_COLUMN in rows.columns else np.zeros(len(rows), bool)
        if short.any():  # rows scored before the entity had a full window: marked
            prediction_item.plot(x[short], y[short], pen=None, symbol="o", symbolSize=5,
                                 symbolBrush=SHORT_COLOR, symbolPen=None)
        if self.result.task == "binary" and self.result.threshold is not None:
            prediction_item.addItem(pg.InfiniteLine(pos=self.result.threshold, angle=0, pen=pg.mkPen(
                "#c0392b", width=1, style=Qt.PenStyle.DashLine)))
        sensor_item.enableAutoRange()
        prediction_item.enableAutoRange()
