"""The Train step's state and rules, without Qt: the settings, what can run, the runs as rows.

:class:`TrainState` holds what the Train panel used to keep in its widgets and handlers: the
network settings as the user set them (a preset, or edited), which preset each run came from,
the user's Stop request, the frame being trained on and the run whose live curves are on show.
The panel binds its widgets to it and asks it what to enable and what to show; the words are made
from its answers in :mod:`mfg_desktop.qt.train.text`.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.i18n import tr
from mfg_desktop.core.network import DEFAULT_PRESET, LOSSES, NetworkSpec, metric_name, preset, resolve_monitor
from mfg_desktop.core.task import BINARY, REGRESSION
from mfg_desktop.core.train import DEFAULT_MODEL, MODEL_CHOICES, NETWORK, TREES

if TYPE_CHECKING:
    from mfg_desktop.core.recipe import Recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import TrainingRun

MODEL_SUFFIX = ".mfgmodel"
CLASSIFICATION_LOSSES = ("binary_crossentropy", "categorical_crossentropy")
REGRESSION_LOSSES = ("mse", "mae", "huber")


def parse_hidden(text: str) -> list[int]:
    """'256, 256' -> [256, 256]; a clear :class:`TrainingError` for anything else."""
    parts = [p for p in re.split(r"[,;\s]+", text) if p]
    try:
        units = [int(p) for p in parts]
    except ValueError:
        units = []
    if not units or any(u < 1 for u in units):
        raise TrainingError(
            tr("Hidden layers: '{text}' is not a list of layer sizes.", text=text),
            hint=tr("Write the units of each layer separated by commas, e.g. 256, 256."),
        )
    return units


def loss_choices(task: str | None) -> list[str]:
    """The losses offered for ``task`` ("auto" first); before a target is known, every loss."""
    if task == REGRESSION:
        allowed: tuple[str, ...] = REGRESSION_LOSSES
    elif task:
        allowed = CLASSIFICATION_LOSSES
    else:
        allowed = LOSSES[1:]
    return ["auto", *allowed]


def monitor_choices(task: str | None) -> list[str]:
    """What may pick the best epoch for ``task``: PR-AUC needs two classes, accuracy classes."""
    allowed = ["auto", "val_loss"]
    if task in (None, BINARY):
        allowed.append("val_pr_auc")
    if task != REGRESSION:
        allowed.append("val_accuracy")
    return allowed


def monitor_key(spec: NetworkSpec, task: str | None) -> str | None:
    """The validation number that picks the best epoch ("val_pr_auc", ...), None if it cannot apply."""
    try:
        return resolve_monitor(spec, task or REGRESSION)[0]
    except TrainingError:
        return None


@dataclass(frozen=True)
class NetworkSettings:
    """The settings form as the user set it: the preset chosen, each value, and the seed.

    ``hidden`` stays the text typed, so a half-typed value is kept until training needs it.
    ``model_choice`` (one of core's ``MODEL_CHOICES``: auto, network, trees) is what ``train_run``
    fits; it is not part of a preset, so choosing a preset keeps it.
    """

    preset: str
    hidden: str
    activation: str
    dropout: float
    batch_norm: bool
    optimizer: str
    learning_rate: float
    loss: str
    monitor: str
    epochs: int
    batch_size: int
    patience: int
    seed: int = 0
    model_choice: str = DEFAULT_MODEL

    @classmethod
    def from_preset(cls, name: str, seed: int = 0, model_choice: str = DEFAULT_MODEL) -> NetworkSettings:
        spec = preset(name)
        if model_choice not in MODEL_CHOICES:
            raise TrainingError(tr("Unknown model choice '{choice}'.", choice=model_choice),
                                hint=tr("Use one of: {choices}.", choices=", ".join(MODEL_CHOICES)))
        return cls(
            preset=name,
            hidden=", ".join(str(u) for u in spec.hidden),
            seed=seed,
            model_choice=model_choice,
            **{
                f.name: getattr(spec, f.name)
                for f in fields(cls)
                if f.name not in ("preset", "hidden", "seed", "model_choice")
            },
        )

    def with_values(self, **values: Any) -> NetworkSettings:
        return replace(self, **values)

    def spec(self) -> NetworkSpec:
        """The settings as a core :class:`NetworkSpec` (raises :class:`TrainingError` if unusable).

        Settings the form does not show (input encoding, schedule, ...) come from the preset.
        """
        return preset(self.preset).with_changes(
            hidden=parse_hidden(self.hidden),
            activation=self.activation,
            dropout=round(self.dropout, 4),
            batch_norm=self.batch_norm,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            loss=self.loss or "auto",
            monitor=self.monitor or "auto",
            epochs=self.epochs,
            batch_size=self.batch_size,
            patience=self.patience,
        )

    def edited(self) -> bool:
        """Whether the network differs from its preset (unusable settings count as edited)."""
        try:
            return self.spec() != preset(self.preset)
        except TrainingError:
            return True


@dataclass(frozen=True)
class RunLabel:
    """Which preset a run was trained with, and whether the user changed it first."""

    preset: str
    edited: bool


@dataclass(frozen=True)
class PreparationSummary:
    """What the Prepare step hands to training, for the line above the settings."""

    target: str
    inputs: int
    split_method: str
    shares: tuple[float, float, float]  # train, validation, test
    derived: int
    pca: bool
    class_weights: bool | None  # None: a regression, where class weights do not apply


def target_text(target: str | list[str]) -> str:
    return target if isinstance(target, str) else " + ".join(target)


def preparation_summary(
    recipe: Recipe | None, split_spec: SplitSpec | None, class_weight: bool | None
) -> PreparationSummary | None:
    """None until the Prepare step has a recipe and a valid split."""
    if recipe is None or split_spec is None:
        return None
    return PreparationSummary(
        target=target_text(recipe.target),
        inputs=len(recipe.inputs),
        split_method=split_spec.text,
        shares=(split_spec.train, split_spec.valid, split_spec.test),
        derived=len(recipe.derived),
        pca=bool(recipe.pca.enabled),
        class_weights=None if recipe.task == REGRESSION else bool(class_weight),
    )


@dataclass(frozen=True)
class RunRow:
    """One run in the runs table, as numbers and names (the text is made in ``text.run_cells``)."""

    number: int  # from 1, in the order of the session
    run_id: str
    files: tuple[str, ...]  # the data files' names, in load order; empty for a table without files
    rows: int | None
    target: str
    label: RunLabel | None  # None: a run this sitting did not train (opened from a file)
    epochs_run: int
    max_epochs: int
    best_epoch: int
    best_val_loss: float | None
    metric: str  # "accuracy" or "mae"
    metric_value: float | None  # on the validation rows, with the best weights
    more: tuple[tuple[str, float], ...]  # the other validation metrics, e.g. ("val_roc_auc", 0.95)
    duration_s: float
    device: str
    outcome: str  # "cancelled", "stopped early" or "finished"
    chosen: str = NETWORK  # the kept model (TrainingRun.kept_model: network, sequence, trees or blend)


def run_outcome(run: TrainingRun) -> str:
    if run.cancelled:
        return "cancelled"
    return "stopped early" if run.stopped_early else "finished"


def run_row(number: int, run: TrainingRun, label: RunLabel | None) -> RunRow:
    metric = metric_name(run.task)
    val_loss = run.history.get("val_loss", [])
    best_loss = val_loss[run.best_epoch - 1] if 0 < run.best_epoch <= len(val_loss) else None
    main_key = f"val_{metric}"
    fingerprint = run.data_fingerprint or {}
    return RunRow(
        number=number,
        run_id=run.id,
        files=tuple(str(f.get("name")) for f in fingerprint.get("files") or []),
        rows=fingerprint.get("rows"),
        target=target_text(run.recipe.target),
        label=label,
        epochs_run=run.epochs_run,
        max_epochs=run.network.epochs,
        best_epoch=run.best_epoch,
        best_val_loss=best_loss,
        metric=metric,
        metric_value=run.metrics.get(main_key),
        more=tuple((k, v) for k, v in run.metrics.items() if k != main_key),
        duration_s=run.duration_s,
        device=run.device,
        outcome=run_outcome(run),
        chosen=run.kept_model,
    )


def suggested_model_name(run: TrainingRun) -> str:
    """``<target>_<run id>.mfgmodel`` with anything but letters, digits, - and _ made '_'."""
    target = run.recipe.target if isinstance(run.recipe.target, str) else "target"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in target)
    return f"{safe}_{run.id[:6]}{MODEL_SUFFIX}"


def with_model_suffix(path: str) -> str:
    return path if path.lower().endswith(MODEL_SUFFIX) else path + MODEL_SUFFIX


@dataclass
class TrainState:
    """The Train step's state: the settings, the training under way, the runs' labels.

    A training goes :meth:`begin` → (:meth:`request_stop`) → :meth:`finished` or nothing →
    :meth:`ended`; the panel reports whether a job runs (``training``/``saving`` arguments), the
    state decides what follows from it.
    """

    settings: NetworkSettings = field(default_factory=lambda: NetworkSettings.from_preset(DEFAULT_PRESET))
    device: str | None = None  # where training runs, in words, once a worker has asked
    where: str | None = None  # the Ray cluster the training under way runs on, in words (None: this PC)
    run_labels: dict[str, RunLabel] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    stop_requested_at: float | None = None  # perf_counter() of the user's Stop
    last_update: Any = None  # the latest EpochUpdate of the training under way
    monitor: str | None = None  # what picks the best epoch of the training under way
    training_label: RunLabel | None = None
    training_frame: Any = None  # the frame being trained on (the session may load another meanwhile)
    live_run: TrainingRun | None = None  # the run whose live curves (with per-batch trace) are on show
    stage: str = ""  # the model being fitted now ("network" or "trees"), "" before the first starts

    # -- settings -------------------------------------------------------------------------------
    def choose_preset(self, name: str) -> NetworkSettings:
        """The settings of preset ``name`` (the seed is the user's, not the preset's)."""
        self.settings = NetworkSettings.from_preset(
            name, seed=self.settings.seed, model_choice=self.settings.model_choice
        )
        return self.settings

    def run_label(self) -> RunLabel:
        return RunLabel(self.settings.preset, self.settings.edited())

    # -- what can run ---------------------------------------------------------------------------
    @staticmethod
    def missing_step(target: Any, recipe: Recipe | None, split_spec: SplitSpec | None) -> str | None:
        """What comes first before training: "data" (no target), "prepare", or None (ready)."""
        if recipe is not None and split_spec is not None:
            return None
        return "data" if target is None else "prepare"

    @staticmethod
    def can_train(recipe: Recipe | None, split_spec: SplitSpec | None, training: bool) -> bool:
        return recipe is not None and split_spec is not None and not training

    def can_stop(self, training: bool) -> bool:
        return training and not self.stop.is_set()

    @staticmethod
    def can_save(current_run: TrainingRun | None, saving: bool) -> bool:
        return current_run is not None and not saving

    # -- a training -----------------------------------------------------------------------------
    def begin(self, frame: Any, spec: NetworkSpec, task: str | None) -> threading.Event:
        """A training of ``frame`` with ``spec`` starts; returns its own Stop event."""
        self.stop = threading.Event()
        self.stop_requested_at = None
        self.last_update = None
        self.stage = ""
        self.training_label = self.run_label()
        self.training_frame = frame
        self.monitor = monitor_key(spec, task)
        return self.stop

    def request_stop(self, training: bool) -> bool:
        """The user's Stop; False when there is nothing (more) to stop."""
        if not self.can_stop(training):
            return False
        self.stop.set()
        self.stop_requested_at = time.perf_counter()
        return True

    def shows_progress_messages(self) -> bool:
        """Whether the job's progress messages own the status line: before the first epoch, and
        while the trees are fitted (their rounds come as messages, not epochs)."""
        return self.last_update is None or self.stage == TREES

    def stopping(self) -> bool:
        return self.stop.is_set()

    def stage_started(self, stage: str) -> None:
        """``train_run`` began fitting ``stage`` ("network", then "trees" in an Auto run)."""
        self.stage = stage

    def epoch_done(self, update: Any) -> None:
        self.last_update = update

    def finished(self, run: TrainingRun) -> Any:
        """The training delivered ``run``; returns the frame it was trained on (for the session)."""
        if self.training_label is not None:
            self.run_labels[run.id] = self.training_label
        self.live_run = run
        return self.training_frame

    def ended(self) -> None:
        """The training is over, whatever the outcome: let go of its frame."""
        self.training_frame = None
        self.where = None

    def shows_history_of(self, run: TrainingRun | None, training: bool) -> bool:
        """Whether picking ``run`` replaces the curves on show with its history.

        The curves on show belong to the run being trained or just trained (with its per-batch
        trace); another run's history replaces them only when the user picks that run.
        """
        if run is None or run is self.live_run or training:
            return False
        self.live_run = None
        return True

    # -- the runs -------------------------------------------------------------------------------
    def rows(self, runs: list[TrainingRun]) -> list[RunRow]:
        return [run_row(i + 1, run, self.run_labels.get(run.id)) for i, run in enumerate(runs)]

    @staticmethod
    def model_path(folder: str | Path, run: TrainingRun) -> Path:
        """Where Save model… proposes to write ``run``."""
        return Path(folder) / suggested_model_name(run)
