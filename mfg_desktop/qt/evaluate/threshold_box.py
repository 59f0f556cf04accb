"""The decision threshold of a yes/no model and the costs that choose it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

from mfg_desktop.qt.evaluate.state import (
    SLIDER_STEPS,
    Actions,
    ThresholdReadout,
    slider_threshold,
    slider_value,
)
from mfg_desktop.qt.evaluate.text import number_text, short

MAX_COST = 1e9


def _cost_box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, MAX_COST)
    box.setDecimals(2)
    box.setValue(value)
    return box


class ThresholdBox(QGroupBox):
    """Slider with the decisions it gives live, the two costs, Propose / Use / Save.

    Emits what the user asks for; the panel decides (through the step's state) what happens.
    """

    threshold_moved = Signal(float)
    costs_changed = Signal(float, float)  # missed positive, false alarm
    propose_requested = Signal()
    use_requested = Signal(float)
    save_requested = Signal()

    def __init__(self, costs: tuple[float, float], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Decision threshold (yes/no models)"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, SLIDER_STEPS - 1)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.slider.valueChanged.connect(lambda value: self.threshold_moved.emit(slider_threshold(value)))
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(230)
        self.live_label = QLabel()
        self.live_label.setStyleSheet("color: #333;")
        self.cost_fn = _cost_box(costs[0])
        self.cost_fp = _cost_box(costs[1])
        self.cost_fn_label = QLabel(self.tr("Cost of a missed positive:"))
        for box in (self.cost_fn, self.cost_fp):
            box.valueChanged.connect(lambda _v: self.costs_changed.emit(*self.costs()))
        self.propose_button = QPushButton(self.tr("Propose threshold"))
        self.propose_button.setToolTip(self.tr("The threshold with the lowest total cost on the validation rows "
                                               "(never on the rows evaluated here)"))
        self.propose_button.clicked.connect(lambda: self.propose_requested.emit())
        self.use_button = QPushButton(self.tr("Use this threshold"))
        self.use_button.setToolTip(self.tr("Store it in the model: prediction decides with it"))
        self.use_button.clicked.connect(lambda: self.use_requested.emit(self.threshold()))
        self.save_button = QPushButton(self.tr("Save model file…"))
        self.save_button.clicked.connect(lambda: self.save_requested.emit())
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")

        grid = QGridLayout(self)
        grid.addWidget(QLabel(self.tr("Decision threshold:")), 0, 0)
        grid.addWidget(self.slider, 0, 1, 1, 3)
        grid.addWidget(self.threshold_label, 0, 4)
        grid.addWidget(self.live_label, 1, 0, 1, 5)
        grid.addWidget(self.cost_fn_label, 2, 0)
        grid.addWidget(self.cost_fn, 2, 1)
        grid.addWidget(QLabel(self.tr("Cost of a false alarm:")), 2, 2)
        grid.addWidget(self.cost_fp, 2, 3)
        grid.addWidget(self.propose_button, 2, 4)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        grid.addLayout(buttons, 3, 0, 1, 5)
        grid.addWidget(self.status, 4, 0, 1, 5)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

    def threshold(self) -> float:
        return slider_threshold(self.slider.value())

    def set_threshold(self, threshold: float, quiet: bool = False) -> None:
        """Move the slider; ``quiet``: without emitting ``threshold_moved``."""
        self.slider.blockSignals(quiet)
        self.slider.setValue(slider_value(threshold))
        self.slider.blockSignals(False)

    def costs(self) -> tuple[float, float]:
        return self.cost_fn.value(), self.cost_fp.value()

    def set_target(self, target: str, positive: str) -> None:
        self.cost_fn_label.setText(self.tr("Cost of a missed {target} = {c}:").format(target=short(target, 24),
                                                                                      c=positive))

    def show_readout(self, r: ThresholdReadout) -> None:
        self.threshold_label.setText(self.tr("{t:.3f} on p({c})").format(t=r.threshold, c=r.positive))
        text = self.tr(
            "At this threshold: {tp} of {pos} rows with {target} = {c} caught (recall {r}), {fp} false alarms "
            "(precision {p}).").format(tp=r.caught, pos=r.positives, target=r.target, c=r.positive,
                                       r=number_text(r.recall, 3), fp=r.false_alarms, p=number_text(r.precision, 3))
        if r.cost is not None:
            text += "  " + self.tr("Cost on the validation rows: {cost:,.1f}.").format(cost=r.cost)
        self.live_label.setText(text)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def set_actions(self, actions: Actions) -> None:
        self.propose_button.setEnabled(actions.propose)
        self.use_button.setEnabled(actions.use_threshold)
        self.save_button.setEnabled(actions.save)
