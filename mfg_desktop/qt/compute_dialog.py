"""Settings › Compute…: train on this PC or on the plant's Ray cluster, with a bounded connection check.

The check (:func:`mfg_desktop.core.cluster.check_cluster`: one bounded gRPC question to the head,
then ``ray.init`` and a task on every node) runs on a worker thread, never on the GUI thread; its
answer (nodes, CPUs, GPUs, Ray version) or the reason it cannot connect is shown in the dialog.
Without the ``cluster`` extra the cluster choice is greyed out with the one-line install hint and
Ray is never imported.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt.compute import (
    CLUSTER,
    MAX_WORKERS,
    THIS_PC,
    ComputeChoice,
    cluster_available,
    load_compute,
    not_installed_text,
    save_compute,
    workers_tooltip,
)
from mfg_desktop.qt.context import AppContext, TaskSlot


def tr(text: str) -> str:
    return QCoreApplication.translate("ComputeDialog", text)


def check_job(choice: ComputeChoice, state) -> list[str]:
    """Runs on a worker thread: connect to the cluster and describe it (ClusterError: why not)."""
    from mfg_desktop.core.cluster import check_cluster

    state.set_progress(0.0, "connecting")
    return check_cluster(choice.cluster_settings()).lines()


def check_address(text: str) -> None:
    """Raise the core's ClusterError when ``text`` is not HOST:PORT or ray://HOST:PORT."""
    from mfg_desktop.core.cluster import parse_address

    parse_address(text)


class ComputeDialog(QDialog):
    """Choose where training runs; OK saves it in the app settings and emits ``saved``."""

    saved = Signal(object)  # the ComputeChoice

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Compute"))
        self.checking = TaskSlot(ctx, "cluster check", self)
        self.checking.ended.connect(self._check_ended)
        self.this_pc = QRadioButton(tr("This PC"))
        self.cluster = QRadioButton(tr("Ray cluster"))
        self.group = QButtonGroup(self)
        self.group.addButton(self.this_pc)
        self.group.addButton(self.cluster)
        self.hint = QLabel(not_installed_text())
        self.hint.setStyleSheet("color: #8a5a00;")
        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("ray://10.0.0.5:10001  /  10.0.0.5:6379")
        self.address_edit.setToolTip(tr("What `ray start --head` printed (HOST:PORT, from a node of the cluster) "
                                        "or the Ray Client address ray://HOST:10001 (from any PC)"))
        self.token_edit = QLineEdit()
        self.token_edit.setPlaceholderText(tr("as Ray finds it (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)"))
        self.browse_button = QPushButton(tr("Browse…"))
        self.browse_button.clicked.connect(self._browse_token)
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, MAX_WORKERS)
        self.workers_spin.setToolTip(workers_tooltip())
        self.check_button = QPushButton(tr("Check"))
        self.check_button.clicked.connect(self.check)
        self.result_label = QLabel()
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setMinimumHeight(60)
        self.result_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token_edit, 1)
        token_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow(tr("Address"), self.address_edit)
        form.addRow(tr("Token file"), token_row)
        form.addRow(tr("Workers"), self.workers_spin)
        self.cluster_box = QWidget()
        self.cluster_box.setLayout(form)
        form.setContentsMargins(24, 0, 0, 0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        check_row = QHBoxLayout()
        check_row.addWidget(self.check_button)
        check_row.addStretch(1)
        note = QLabel(tr("Kept in this PC's settings only: never in a model file, saved work or a report."))
        note.setStyleSheet("color: #666;")
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.this_pc)
        layout.addWidget(self.cluster)
        layout.addWidget(self.hint)
        layout.addWidget(self.cluster_box)
        layout.addLayout(check_row)
        layout.addWidget(self.result_label, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(560, 360)
        self.this_pc.toggled.connect(self._update_enabled)
        self.address_edit.textChanged.connect(self._update_enabled)
        self.show_choice(load_compute())

    def show_choice(self, choice: ComputeChoice) -> None:
        available = cluster_available()
        self.cluster.setEnabled(available)
        self.hint.setVisible(not available)
        self.address_edit.setText(choice.address)
        self.token_edit.setText(choice.token_file)
        self.workers_spin.setValue(choice.workers)
        (self.cluster if choice.where == CLUSTER and available else self.this_pc).setChecked(True)
        self.result_label.clear()
        self._update_enabled()

    def choice(self) -> ComputeChoice:
        """What the dialog shows."""
        return ComputeChoice(where=CLUSTER if self.cluster.isChecked() else THIS_PC,
                             address=self.address_edit.text().strip(), token_file=self.token_edit.text().strip(),
                             workers=self.workers_spin.value())

    def _update_enabled(self, *_args: object) -> None:
        on_cluster = self.cluster.isChecked() and cluster_available()
        self.cluster_box.setEnabled(on_cluster)
        self.check_button.setEnabled(on_cluster and bool(self.address_edit.text().strip())
                                     and not self.checking.is_running())

    def _browse_token(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("The cluster's token file"), self.token_edit.text())
        if path:
            self.token_edit.setText(path)

    def _show_result(self, text: str, ok: bool) -> None:
        self.result_label.setStyleSheet("" if ok else "color: #b00020;")
        self.result_label.setText(text)

    def check(self) -> None:
        """Start the bounded cluster check on a worker thread."""
        choice = self.choice()
        try:
            check_address(choice.address)
        except MfgError as exc:
            self._show_result(str(exc), ok=False)
            return
        self._show_result(tr("Connecting to {address}…").format(address=choice.address), ok=True)
        self.checking.start(check_job, choice, title=tr("Checking the cluster"), track=False,
                            on_done=lambda lines: self._show_result("\n".join(lines), ok=True),
                            on_error=lambda exc: self._show_result(str(exc), ok=False))
        self._update_enabled()

    def _check_ended(self) -> None:
        self._update_enabled()

    def accept(self) -> None:
        choice = self.choice()
        if choice.where == CLUSTER:
            try:
                check_address(choice.address)
            except MfgError as exc:
                self._show_result(str(exc), ok=False)
                return
        save_compute(choice)
        self.saved.emit(choice)
        super().accept()


def build_settings_menu(window: QMainWindow, ctx: AppContext) -> QAction:
    """Add Settings › Compute… to ``window``'s menu bar; a saved choice goes out as ``ctx.compute_changed``."""
    menu = window.menuBar().addMenu(tr("&Settings"))
    action = QAction(tr("&Compute…"), window)
    action.setStatusTip(tr("Train on this PC or on the plant's Ray cluster"))

    def open_dialog() -> None:
        dialog = getattr(window, "compute_dialog", None)
        if dialog is None:
            dialog = ComputeDialog(ctx, window)
            dialog.saved.connect(ctx.compute_changed.emit)
            window.compute_dialog = dialog
        else:
            dialog.show_choice(load_compute())
        dialog.open()

    action.triggered.connect(open_dialog)
    menu.addAction(action)
    return action
