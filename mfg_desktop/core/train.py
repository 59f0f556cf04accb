"""Training: one call turns a frame, a recipe, a split and a network spec into a :class:`TrainingRun`.

:func:`train_run` is a plain function that reports through a :class:`JobState` (Orange's pattern):
per-epoch :class:`EpochUpdate` and throttled per-batch :class:`BatchUpdate` objects arrive via
``state.set_partial_result``; ``state.request_cancel()`` stops training within one Keras call (a
few batches, see ``network.steps_per_execution``) and keeps the best weights so far. Keras is
imported inside functions only, and nothing here calls a TensorFlow-only API outside
:func:`describe_device` (which asks the active backend for its GPU).

What the callback costs, measured against a bare ``model.fit`` of the same model on ai4i2020
(tests/benchmarks/bench_train.py, 2 cores): its per-batch hooks ~0.1 ms a call (Keras then runs
the batch callbacks in the training thread instead of a helper thread, which measured the same).
The validation numbers (loss, metric and, for a binary target, PR-AUC) all come from ONE pass of
Keras' compiled predict step over the validation rows at each epoch end (:func:`validation_logs`),
instead of ``model.fit(validation_data=...)``'s evaluation pass plus a second pass for the
PR-AUC: Keras' evaluation loop (metric resets, its own callbacks and data adapter) cost 45-100 ms
an epoch where the predict pass takes 9-16 ms. A PR-AUC metric compiled into the model
(``keras.metrics.AUC(curve="PR")``) would need no extra pass, but updating it on every training
batch made epochs ~18 % slower.
"""

from __future__ import annotations

import logging
import math
import platform
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.backend import describe_device, import_keras
from mfg_desktop.core.decisions import Candidate, choose_model, make_candidate, prefer_average
from mfg_desktop.core.errors import Cancelled, DataError, TrainingError
from mfg_desktop.core.fingerprint import data_fingerprint, file_sha256, frame_fingerprint  # noqa: F401 - also known from here
from mfg_desktop.core.i18n import tr
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.network import (
    NetworkSpec,
    adapt_model,
    build_model,
    metric_name,
    resolve_loss,
    resolve_monitor,
)
from mfg_desktop.core.recipe import (
    FittedRecipe,
    Recipe,
    check_target,
    class_weights,
    fit_recipe,
    suggest_class_weights,
)
from mfg_desktop.core.split import SplitSpec, make_split
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION, detect_task, target_series

log = logging.getLogger(__name__)

# Per-batch loss updates are throttled to at most this many per second (the GUI plots each one).
BATCH_UPDATES_PER_S = 20.0
MIN_TRAIN_ROWS = 10
# Which model(s) a run trains: Auto trains both and keeps the one with the better validation score.
# "sequence": only the sequence network (network.SEQUENCE), which reads each row's last W rows of
# its entity; it needs a history set-up and is kept like the network (run.model, candidate "network").
AUTO, NETWORK, TREES, SEQUENCE = "auto", "network", "trees", "sequence"
MODEL_CHOICES = (AUTO, NETWORK, TREES, SEQUENCE)
DEFAULT_MODEL = AUTO
# Auto's third candidate: the network's and the trees' raw outputs averaged (no model of its own)
BLEND = "blend"


@dataclass
class EpochUpdate:
    """Sent after every epoch (``epoch`` counts from 1)."""

    epoch: int
    epochs: int
    loss: float
    val_loss: float | None
    metric_name: str  # "accuracy" (classification) or "mae" (regression)
    metric: float | None
    val_metric: float | None
    samples_per_s: float
    elapsed_s: float
    # At most this long (early stopping may end sooner); None until the estimate is stable
    # (see RemainingTime): the first epoch carries graph tracing and would mislead.
    remaining_s: float | None
    best_epoch: int
    val_pr_auc: float | None = None  # binary targets: what early stopping follows by default


@dataclass
class RemainingTime:
    """Time left from the epochs so far, given only once it can be trusted.

    The first epoch includes Keras' graph tracing (seconds), so "elapsed / done" after it
    overstates the rest several times (seen: 16:56, then 2:02 two seconds later). The time per
    epoch is the median of the recent epochs, leaving out the first once there are others; an
    estimate is returned from ``min_epochs`` epochs on, or earlier when two consecutive
    projections of the total time agree within ``tolerance``. Once given, it stays given.
    """

    epochs: int
    min_epochs: int = 3
    tolerance: float = 0.25
    window: int = 5
    durations: list[float] = field(default_factory=list)
    _last_total: float | None = None
    _stable: bool = False

    def update(self, epoch_s: float) -> float | None:
        """Record one finished epoch of ``epoch_s`` seconds; the seconds left, or None if not yet known."""
        self.durations.append(max(float(epoch_s), 0.0))
        done = len(self.durations)
        left = max(self.epochs - done, 0)
        recent = self.durations[1:] if done > 1 else self.durations
        remaining = float(np.median(recent[-self.window:])) * left
        total = sum(self.durations) + remaining
        if not self._stable:
            agree = self._last_total is not None and abs(total - self._last_total) <= self.tolerance * self._last_total
            self._stable = done >= self.min_epochs or agree
        self._last_total = total
        if left == 0:
            return 0.0
        return remaining if self._stable else None


@dataclass
class BatchUpdate:
    """A smooth per-batch loss trace point (throttled)."""

    epoch: int
    batch: int  # counts from 1 within the epoch
    steps: int  # batches per epoch
    loss: float
    elapsed_s: float

    @property
    def position(self) -> float:
        """Fractional epoch (e.g. 2.5 halfway through the third epoch), for the x axis."""
        return self.epoch - 1 + self.batch / max(self.steps, 1)


def make_progress_callback(
    state: JobState,
    *,
    epochs: int,
    steps_per_epoch: int,
    n_train: int,
    task: str,
    loss: str,
    patience: int,
    validation: tuple[np.ndarray, np.ndarray],
    monitor: str = "val_loss",
    mode: str = "min",
    printer: Callable[[EpochUpdate], None] | None = None,
) -> Any:
    """A Keras callback bridging training to ``state`` (and optionally a plain print function).

    It also keeps the best weights (best ``monitor``, lower or higher as ``mode`` says), stops
    after ``patience`` epochs without improvement, stops within one Keras call when cancel is
    requested, and restores the best weights at the end in every case. The validation numbers
    (``val_loss``, ``val_<metric>``, and ``val_pr_auc`` for a binary target) are computed here on
    ``validation`` (x, y), from one compiled predict pass (:func:`validation_logs`); ``model.fit``
    is given no validation data.
    """
    keras = import_keras()

    name = metric_name(task)
    sign = 1.0 if mode == "min" else -1.0

    class StopNow(Exception):
        """Raised out of model.fit on cancel: ends it at once, without finishing the epoch."""

    class ProgressBridge(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best_value = math.inf
            self.best_epoch = 0
            self.best_weights: list[np.ndarray] | None = None
            self.wait = 0
            self.history: dict[str, list[float]] = {}
            self.stop_exception = StopNow
            self.remaining = RemainingTime(epochs)
            self.stopped_early = False
            self.cancelled = False
            self.epochs_done = 0
            self._t0 = 0.0
            self._epoch_t0 = 0.0
            self._train_t = 0.0
            self._last_batch_emit = 0.0
            self._epoch = 0

        def _check_cancel(self) -> None:
            if state.is_interruption_requested():
                self.cancelled = True
                self.model.stop_training = True
                raise StopNow()

        def restore_best(self) -> None:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

        def on_train_begin(self, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch + 1
            self._epoch_t0 = time.perf_counter()
            self._train_t = self._epoch_t0
            self._check_cancel()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self._train_t = now
            self._check_cancel()
            if now - self._last_batch_emit >= 1.0 / BATCH_UPDATES_PER_S and logs and "loss" in logs:
                self._last_batch_emit = now
                # With several steps per execution Keras names the chunk's last step, which in an
                # epoch's final, shorter chunk lies past the epoch's end: clamp it there.
                state.set_partial_result(BatchUpdate(
                    epoch=self._epoch, batch=min(int(batch) + 1, steps_per_epoch), steps=steps_per_epoch,
                    loss=float(logs["loss"]), elapsed_s=now - self._t0))

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            now = time.perf_counter()
            done = epoch + 1
            self.epochs_done = done
            logs.update(validation_logs(compiled_outputs(self.model, validation[0]), validation[1], task, loss))
            for key, v in logs.items():
                if key != "learning_rate":
                    self.history.setdefault(key, []).append(float(v))
            value = logs.get(monitor, logs.get("val_loss", logs.get("loss")))
            value = sign * float(value) if value is not None else math.inf
            if value < self.best_value and math.isfinite(value):
                self.best_value, self.best_epoch, self.wait = value, done, 0
                self.best_weights = [np.array(w, copy=True) for w in self.model.get_weights()]
            else:
                self.wait += 1
                if self.wait >= patience and not self.cancelled:
                    self.stopped_early = True
                    self.model.stop_training = True
            if not math.isfinite(float(logs.get("loss", 0.0))):
                # Diverged: stop and fall back to the best weights so far.
                self.stopped_early = True
                self.model.stop_training = True
            train_s = max(self._train_t - self._epoch_t0, 1e-9)
            elapsed = now - self._t0
            update = EpochUpdate(
                epoch=done, epochs=epochs,
                loss=float(logs.get("loss", math.nan)),
                val_loss=_opt_float(logs.get("val_loss")),
                metric_name=name,
                metric=_opt_float(logs.get(name)),
                val_metric=_opt_float(logs.get(f"val_{name}")),
                samples_per_s=n_train / train_s,
                elapsed_s=elapsed,
                remaining_s=self.remaining.update(now - self._epoch_t0),
                best_epoch=self.best_epoch,
                val_pr_auc=_opt_float(logs.get("val_pr_auc")),
            )
            state.set_progress(done / epochs, tr("epoch {done}/{epochs}", done=done, epochs=epochs))
            state.set_partial_result(update)
            if printer is not None:
                printer(update)
            self._check_cancel()

        def on_train_end(self, logs=None):
            self.restore_best()

    return ProgressBridge()


def compiled_outputs(model: Any, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """The model's outputs for ``x`` (rows x output columns, float64) through Keras' compiled predict step.

    Used for the validation numbers after every epoch: tracing costs ~0.2 s once, after which a
    pass over 1,500 rows took 9-16 ms against 21-37 ms calling the model eagerly
    (:func:`predict_outputs`). The two agree to ~1e-7.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    parts = [np.asarray(model.predict_on_batch(x[i:i + batch_size]), dtype=np.float64)
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts).reshape(len(x), -1) if parts else np.zeros((0, 1))


# Keras' epsilon: probabilities are clipped to [EPS, 1 - EPS] before the logarithm, as Keras does
EPS = 1e-7


def validation_logs(outputs: np.ndarray, y: np.ndarray, task: str, loss: str) -> dict[str, float]:
    """``val_loss`` and ``val_<metric>`` as Keras' validation pass reports them (unweighted means over
    the rows, no class weights), plus ``val_pr_auc`` for a binary target, from the model's outputs.

    ``loss`` is the compiled loss (:func:`network.resolve_loss`). Keras computes in float32 and
    averages batch by batch; these float64 means agree with ``model.evaluate`` to ~1e-6.
    """
    y = np.asarray(y)
    if task == REGRESSION:
        error = outputs[:, 0] - y.astype(np.float64)
        size = np.abs(error)
        per_row = {"mse": error**2, "mae": size,
                   "huber": np.where(size <= 1.0, 0.5 * error**2, size - 0.5)}[loss]
        return {"val_loss": float(per_row.mean()), "val_mae": float(size.mean())}
    if task == BINARY:
        from sklearn.metrics import average_precision_score

        p = np.clip(outputs[:, 0], EPS, 1 - EPS)
        truth = y.astype(np.float64)
        logs = {"val_loss": float(-np.mean(truth * np.log(p) + (1 - truth) * np.log(1 - p))),
                "val_accuracy": float(np.mean((outputs[:, 0] > 0.5) == (truth == 1)))}
        if len(np.unique(y)) == 2:  # a diverged model's NaN outputs have no PR-AUC, only NaN
            finite = np.all(np.isfinite(outputs))
            logs["val_pr_auc"] = float(average_precision_score(y, outputs[:, 0])) if finite else math.nan
        return logs
    labels = y.astype(np.int64)
    p = np.clip(outputs / outputs.sum(axis=1, keepdims=True), EPS, 1 - EPS)
    return {"val_loss": float(-np.mean(np.log(p[np.arange(len(labels)), labels]))),
            "val_accuracy": float(np.mean(outputs.argmax(axis=1) == labels))}


def fit_arguments(
    x_train: np.ndarray,
    y_train: np.ndarray,
    task: str,
    *,
    epochs: int,
    batch_size: int,
    class_weight: Mapping[int, float] | None,
) -> dict[str, Any]:
    """The keyword arguments :func:`train_run` gives ``model.fit`` (also used by the benchmark's bare fit).

    No validation data: the progress callback computes the validation numbers itself.
    """
    return {"x": x_train, "y": y_train if task == MULTICLASS else y_train.astype(np.float32),
            "epochs": int(epochs), "batch_size": int(batch_size), "shuffle": True,
            "class_weight": None if class_weight is None else dict(class_weight), "verbose": 0}


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


# --------------------------------------------------------------------------------------------
# the run object


@dataclass
class TrainingRun:
    """One training: what produced the model (recipe, split, spec, seed, data) and what came out."""

    id: str
    recipe: Recipe
    fitted: FittedRecipe
    split_spec: SplitSpec
    split_train: np.ndarray  # row positions in the frame given to train_run
    split_valid: np.ndarray
    split_test: np.ndarray
    network: NetworkSpec
    seed: int
    history: dict[str, list[float]]
    duration_s: float
    device: str
    versions: dict[str, str]
    data_fingerprint: dict[str, Any]
    created: str
    cancelled: bool
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    class_weights: dict[int, float] | None
    metrics: dict[str, float]  # on the validation rows, with the best weights
    n_features: int
    threshold: float | None = None  # binary: the decision threshold on the positive class probability
    mixed_precision: bool = False
    # the configurations a search tried, each with its validation score (core/search.py); None: no search
    search: list[dict[str, Any]] | None = None
    model: Any = field(default=None, repr=False)  # the Keras model (None: trees only); never in to_dict
    trees: Any = field(default=None, repr=False)  # the LightGBM challenger (core.trees.TreeModel) or None
    candidates: dict[str, Candidate] = field(default_factory=dict)  # per trained model: validation, decisions
    chosen: str = NETWORK  # the model predictions come from
    choice_reason: str = ""
    model_choice: str = NETWORK  # what was asked: auto, network or trees
    costs: dict[str, float] | None = None  # binary: {"fn": missed defect, "fp": false alarm} when given
    # sensor histories: HistorySpec.to_dict() when window features were built before the recipe
    history_spec: dict[str, Any] | None = None
    # evaluate.evaluation_summary of the held-out test rows: numbers only, saved in the model file
    test_evaluation: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def task(self) -> str:
        return self.fitted.task

    @property
    def has_model(self) -> bool:
        return self.model is not None or self.trees is not None

    def trained_models(self) -> list[str]:
        """The chosen model first, then the other one(s): the network and the trees when both were
        trained, and their average when that is the one Auto kept."""
        present = [name for name, m in ((NETWORK, self.model), (TREES, self.trees)) if m is not None]
        if self.chosen == BLEND:
            present.append(BLEND)
        return sorted(present, key=lambda name: name != self.chosen)

    def candidate(self, which: str | None = None) -> Candidate | None:
        return self.candidates.get(which or self.chosen)

    def threshold_of(self, which: str | None = None) -> float | None:
        """Binary: the decision threshold of a model (the run's own for the chosen one)."""
        if self.task != BINARY:
            return None
        if which in (None, self.chosen):
            return 0.5 if self.threshold is None else float(self.threshold)
        cand = self.candidates.get(str(which))
        return 0.5 if cand is None or cand.threshold is None else float(cand.threshold)

    @property
    def interval(self) -> tuple[float, float] | None:
        """Regression: offsets (low, high) of the chosen model's 90 % prediction interval."""
        cand = self.candidate()
        return None if cand is None else cand.interval

    @property
    def classes(self) -> list[Any]:
        return list(self.fitted.label_mapping.classes)

    def summary(self) -> str:
        """One line for a list of runs: the key numbers side by side."""
        parts = [f"{self.created[:19].replace('T', ' ')}", tr("{epochs} max epochs", epochs=self.network.epochs),
                 tr("best epoch {epoch}", epoch=self.best_epoch)]
        parts += [f"{k} {v:.4g}" for k, v in self.metrics.items()]
        if self.cancelled:
            parts.append(tr("cancelled"))
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able provenance (everything but the model and the fitted numbers)."""
        return {
            "id": self.id,
            "created": self.created,
            "task": self.task,
            "classes": [_plain(c) for c in self.classes],
            "recipe": self.recipe.to_dict(),
            "split": {**self.split_spec.to_dict(), "rows": {"train": len(self.split_train),
                      "valid": len(self.split_valid), "test": len(self.split_test)}},
            "network": self.network.to_dict(),
            "seed": int(self.seed),
            "history": {k: [float(x) for x in v] for k, v in self.history.items()},
            "duration_s": float(self.duration_s),
            "device": self.device,
            "versions": dict(self.versions),
            "data_fingerprint": self.data_fingerprint,
            "cancelled": bool(self.cancelled),
            "best_epoch": int(self.best_epoch),
            "epochs_run": int(self.epochs_run),
            "stopped_early": bool(self.stopped_early),
            "class_weights": None if self.class_weights is None
            else {str(k): float(v) for k, v in self.class_weights.items()},
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            "n_features": int(self.n_features),
            "threshold": None if self.threshold is None else float(self.threshold),
            "mixed_precision": bool(self.mixed_precision),
            "models": {"asked": self.model_choice, "chosen": self.chosen, "reason": self.choice_reason,
                       "costs": self.costs,
                       "candidates": {name: {**c.to_dict(), **({"threshold": self.threshold}
                                                               if name == self.chosen and self.task == BINARY
                                                               else {})}
                                      for name, c in self.candidates.items()}},
            "history_spec": self.history_spec,
            "search": self.search,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], fitted: FittedRecipe, split_rows: Mapping[str, np.ndarray],
                  model: Any = None, trees: Any = None) -> TrainingRun:
        """Rebuild from :meth:`to_dict` plus the parts stored separately (fitted recipe, split rows,
        the network, the trees)."""
        models = dict(d.get("models") or {})
        split = dict(d["split"])
        split.pop("rows", None)
        weights = d.get("class_weights")
        return cls(
            id=str(d["id"]),
            recipe=fitted.recipe,
            fitted=fitted,
            split_spec=SplitSpec.from_dict(split),
            split_train=np.asarray(split_rows.get("train", ()), dtype=np.int64),
            split_valid=np.asarray(split_rows.get("valid", ()), dtype=np.int64),
            split_test=np.asarray(split_rows.get("test", ()), dtype=np.int64),
            network=NetworkSpec.from_dict(d["network"]),
            seed=int(d["seed"]),
            history={str(k): [float(x) for x in v] for k, v in d["history"].items()},
            duration_s=float(d["duration_s"]),
            device=str(d["device"]),
            versions={str(k): str(v) for k, v in d["versions"].items()},
            data_fingerprint=dict(d["data_fingerprint"]),
            created=str(d["created"]),
            cancelled=bool(d["cancelled"]),
            best_epoch=int(d["best_epoch"]),
            epochs_run=int(d.get("epochs_run", len(d["history"].get("loss", [])))),
            stopped_early=bool(d["stopped_early"]),
            class_weights=None if weights is None else {int(k): float(v) for k, v in weights.items()},
            metrics={str(k): float(v) for k, v in d["metrics"].items()},
            n_features=int(d["n_features"]),
            threshold=None if d.get("threshold") is None else float(d["threshold"]),
            mixed_precision=bool(d.get("mixed_precision", False)),
            search=d.get("search"),
            model=model,
            trees=trees,
            # files from before the trees: the network, no calibration, the stored threshold
            candidates={str(k): Candidate.from_dict(v) for k, v in models.get("candidates", {}).items()},
            chosen=str(models.get("chosen", NETWORK)),
            choice_reason=str(models.get("reason", "")),
            model_choice=str(models.get("asked", NETWORK)),
            costs=None if not models.get("costs") else {k: float(models["costs"][k]) for k in ("fn", "fp")},
            history_spec=dict(d["history_spec"]) if d.get("history_spec") else None,
        )

    @property
    def is_sequence(self) -> bool:
        """The network reads each row's window of its entity's rows (network.SEQUENCE)."""
        return self.network.architecture == SEQUENCE

    @property
    def kept_model(self) -> str:
        """The kept model's kind, as decisions.MODEL_TEXT names it ("sequence" for a sequence network)."""
        return SEQUENCE if self.chosen == NETWORK and self.is_sequence else self.chosen

    def sequence_inputs(self, x: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        """The sequence network's input for ``frame``'s rows from their recipe matrix ``x``: each row's
        last W rows of its entity within ``frame`` (see core.history.sequence_windows)."""
        from mfg_desktop.core.history import HistorySpec, sequence_positions, sequence_windows

        if not self.history_spec:
            raise TrainingError(tr("The sequence network needs the history set-up (entity and order), which this "
                                   "run does not have."))
        spec = HistorySpec.from_dict(self.history_spec)
        return sequence_windows(x, sequence_positions(frame, spec, self.network.sequence_length))

    def predict_matrix(self, x: np.ndarray, batch_size: int = 8192, which: str | None = None,
                       calibrated: bool = True, frame: pd.DataFrame | None = None) -> np.ndarray:
        """Outputs for a prepared matrix: (n, n_classes) probabilities, or (n,) values, from the
        chosen model (or ``which``), calibrated where the run found that it helps.

        A sequence network reads windows: give the rows' ``frame`` (their histories) with the recipe
        matrix ``x``, or ``x`` as windows already (rows, W, F + 1)."""
        which = which or self.chosen
        if which == BLEND:
            raw = blend_outputs(self.predict_matrix(x, batch_size, NETWORK, calibrated=False),
                                self.predict_matrix(x, batch_size, TREES, calibrated=False))
        elif which == TREES:
            if self.trees is None:
                raise TrainingError(tr("This run has no tree model."))
            raw = self.trees.predict(x)
        else:
            if self.model is None:
                raise TrainingError(tr("This run has no network."))
            if self.is_sequence and np.ndim(x) == 2:
                if frame is None:
                    raise TrainingError(tr("The sequence network scores rows from their histories; none were given."))
                x = self.sequence_inputs(x, frame)
            raw = predict_outputs(self.model, x, self.task, batch_size)
        cand = self.candidates.get(which)
        return cand.calibrate(raw, self.task) if calibrated and cand is not None else raw


def blend_outputs(network: np.ndarray, trees: np.ndarray) -> np.ndarray:
    """The two models' raw outputs averaged: probabilities per class, or regression values. Two
    model families that err differently (smooth network, axis-aligned trees) average to fewer errors
    than either often enough for Auto to try it on the validation rows."""
    return (np.asarray(network, dtype=np.float64) + np.asarray(trees, dtype=np.float64)) / 2.0


def predict_outputs(model: Any, x: np.ndarray, task: str, batch_size: int = 8192) -> np.ndarray:
    """Probabilities per class (binary: two columns) or regression values, as float64.

    The model is called directly on chunks rather than through ``model.predict``: for these
    small networks that skips seconds of graph tracing, and it is deterministic batch by batch.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    width = int(model.output_shape[-1])
    if len(x) == 0:
        raw = np.zeros((0, width), dtype=np.float64)
    elif hasattr(model, "predict_numpy"):  # a network read from a model file: no TensorFlow needed
        raw = np.concatenate([model.predict_numpy(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    else:
        ops = import_keras().ops
        raw = np.concatenate([np.asarray(ops.convert_to_numpy(model(x[i:i + batch_size], training=False)),
                                         dtype=np.float64) for i in range(0, len(x), batch_size)])
    if task == BINARY:
        p = raw.reshape(-1)
        return np.column_stack([1.0 - p, p])
    if task == REGRESSION:
        return raw.reshape(-1)
    return raw


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# --------------------------------------------------------------------------------------------
# environment


@lru_cache(maxsize=1)
def _cached_versions() -> tuple[tuple[str, str], ...]:
    return tuple(_library_versions().items())


def library_versions() -> dict[str, str]:
    """Python, Keras, its backend and their versions, scikit-learn, numpy, pandas, this app."""
    return dict(_cached_versions())


def _library_versions() -> dict[str, str]:
    keras = import_keras()

    backend = keras.config.backend()
    versions = {"python": platform.python_version(), "keras": keras.__version__, "backend": backend}
    for key, dist in (("backend_version", {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
                       .get(backend, backend)), ("scikit-learn", "scikit-learn"), ("numpy", "numpy"),
                      ("pandas", "pandas"), ("mfg_desktop", "mfg-desktop")):
        try:
            versions[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    from mfg_desktop import __version__

    versions["mfg_desktop"] = __version__
    return versions


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(s in text for s in ("resourceexhausted", "resource_exhausted", "out of memory", "outofmemory",
                                   " oom ", "oom when allocating"))


# --------------------------------------------------------------------------------------------
# the run


def train_run(
    df: pd.DataFrame,
    recipe: Recipe,
    split_spec: SplitSpec,
    net_spec: NetworkSpec,
    seed: int = 0,
    class_weight: str | bool | Mapping[int, float] | None = "auto",
    state: JobState | None = None,
    data_files: Sequence[str | Path] = (),
    printer: Callable[[EpochUpdate], None] | None = None,
    *,
    model_choice: str = DEFAULT_MODEL,
    tree_spec: Any = None,
    cost_fn: float | None = None,
    cost_fp: float | None = None,
    test_baselines: bool = False,
    history_spec: Mapping[str, Any] | None = None,
) -> TrainingRun:
    """Fit the recipe on the training rows, train the model(s), take the decisions, return the run.

    ``model_choice``: "auto" trains the network (stage "network", live curves) and then LightGBM
    (stage "trees", see :func:`core.trees.fit_trees`) on the same matrix and split and keeps the
    one with the better validation score (:func:`core.decisions.choose_model`); "network" or
    "trees" trains only that one. Every trained model gets its decisions on the validation rows
    (:func:`core.decisions.make_candidate`): binary threshold (by ``cost_fn``/``cost_fp`` when
    both given, else F1) and calibration, regression prediction interval. Cancel during the trees
    keeps the finished network (the run says cancelled).

    The trained network is then judged on the held-out test rows (``test_baselines``: beside the
    baselines too) and the numbers kept in ``run.test_evaluation``, which the model file carries.

    ``history_spec`` (``HistorySpec.to_dict()``): the rows are histories; kept in the run. The
    "sequence" choice needs it: the network then reads each row's last ``sequence_length`` rows
    of its entity (``net_spec`` is turned into the sequence network by
    :func:`network.sequence_spec` unless it is one already), with the same progress, cancel,
    early stopping and best weights; no trees. Its windows are built within ``df``'s rows.

    ``class_weight``: "auto" (balanced weights when the rarest class is under 20 %), True (always
    balanced), False/None (none), or a mapping class index -> weight. Cancel through ``state``:
    the run comes back with ``cancelled=True`` and the best weights so far, or :class:`Cancelled`
    is raised when not even one epoch finished.

    ``history_spec``: the history set-up the window features of ``df`` were built with
    (``HistorySpec.to_dict``); kept in the run before the test evaluation, so that it is per entity too.
    """
    state = ensure_state(state)
    if model_choice not in MODEL_CHOICES:
        raise TrainingError(tr("Unknown model choice '{choice}'.", choice=model_choice),
                            hint=tr("Use one of: {choices}.", choices=", ".join(MODEL_CHOICES)))
    if (cost_fn is None) != (cost_fp is None) or any(c is not None and not (math.isfinite(c) and c >= 0)
                                                     for c in (cost_fn, cost_fp)) or (cost_fn == 0 and cost_fp == 0):
        raise TrainingError(tr("Give both costs (a missed defect and a false alarm), each zero or positive and "
                               "not both zero."), hint=tr("E.g. a missed defect costs 20, a false alarm 1."))
    if model_choice == SEQUENCE:
        if not history_spec:
            raise TrainingError(tr("The sequence network reads histories: say what the rows are first."),
                                hint=tr("Name the entity column (machine, unit, batch; --entity), and the order "
                                        "column if there is one (--order)."))
        from mfg_desktop.core.network import sequence_spec

        net_spec = sequence_spec(net_spec)
    t_start = time.perf_counter()
    state.set_progress(0.0, tr("checking the data"))
    if df is None or len(df) == 0:
        raise TrainingError(tr("The table has no rows to train on."), hint=tr("Load a file with data rows."))
    recipe.check()
    y_all = target_series(df, recipe.target)
    labelled = y_all.notna().to_numpy()
    if not labelled.any():
        raise TrainingError(tr("The target has no values: every row is missing."), column=str(y_all.name),
                            hint=tr("Pick another target column."))
    positions = np.flatnonzero(labelled)
    frame = df.iloc[positions]
    y = y_all.iloc[positions]
    task = recipe.task or detect_task(y)
    check_target(y, task)
    if len(frame) < MIN_TRAIN_ROWS:
        raise TrainingError(tr("Only {rows} rows have a target value; at least {needed} are needed "
                               "to train and validate.", rows=len(frame), needed=MIN_TRAIN_ROWS),
                            hint=tr("Load more data."))

    split = make_split(frame, y, split_spec, task)
    train_pos, valid_pos, test_pos = (np.asarray(a, dtype=np.int64) for a in (split.train, split.valid, split.test))
    if len(train_pos) < 2 or len(valid_pos) < 1:
        raise TrainingError(
            tr("The split leaves {train} training and {valid} validation rows; training needs "
               "both.", train=len(train_pos), valid=len(valid_pos)),
            hint=tr("Load more rows or give validation a larger share."))
    state.check_cancelled()

    state.set_progress(0.0, tr("fitting the recipe on the training rows"))
    fitted = fit_recipe(recipe, frame.iloc[train_pos])
    if fitted.n_features < 1:
        raise TrainingError(tr("No usable inputs after the recipe."), hint=tr("Keep at least one input column."))
    try:
        x_all = fitted.transform(frame)
        y_enc = fitted.encode_target(frame)
    except DataError as exc:
        raise TrainingError(exc.message, file=exc.file, row=exc.row, column=exc.column, hint=exc.hint) from exc
    if not np.all(np.isfinite(x_all)):
        raise TrainingError(tr("Missing or infinite values are left after the recipe."),
                            hint=tr("Choose an imputation for every column with gaps."))
    n_classes = fitted.label_mapping.n_classes if task != REGRESSION else 0
    x_net = x_all
    if model_choice == SEQUENCE:
        from mfg_desktop.core.history import HistorySpec, sequence_positions, sequence_windows

        state.set_progress(0.0, "building each row's window of its history")
        x_net = sequence_windows(x_all, sequence_positions(frame, HistorySpec.from_dict(history_spec),
                                                           net_spec.sequence_length))
    x_train, y_train = x_net[train_pos], y_enc[train_pos]
    x_valid, y_valid = x_net[valid_pos], y_enc[valid_pos]
    if task != REGRESSION:
        seen = np.bincount(y_train, minlength=n_classes)
        absent = [fitted.label_mapping.classes[i] for i in range(n_classes) if seen[i] == 0]
        if absent:
            raise TrainingError(
                tr("The class(es) {classes} have no training rows after the split.",
                   classes=", ".join(map(repr, absent))),
                column=str(y.name), hint=tr("Load more rows of those classes, or use a random stratified split."))

    weights = _resolve_class_weights(class_weight, task, y.iloc[train_pos], y_train, n_classes)
    state.check_cancelled()

    device = describe_device()
    mixed = device.startswith("GPU")
    network_run: dict[str, Any] = {"model": None, "history": {}, "best_epoch": 0, "epochs_run": 0,
                                   "stopped_early": False, "cancelled": False}
    candidates: dict[str, Candidate] = {}
    raw_valid: dict[str, np.ndarray] = {}  # each model's uncalibrated outputs on the validation rows
    costs = {"cost_fn": cost_fn, "cost_fp": cost_fp, "seed": int(seed)}
    if model_choice in (AUTO, NETWORK, SEQUENCE):
        state.set_stage(NETWORK)
        t_net = time.perf_counter()
        network_run = _fit_network(net_spec, fitted.n_features, task, n_classes, x_train, y_train, x_valid,
                                   y_valid, weights, seed, mixed, device, state, printer)
        raw_valid[NETWORK] = predict_outputs(network_run["model"], x_valid, task)
        candidates[NETWORK] = make_candidate(NETWORK, y_valid, raw_valid[NETWORK], task,
                                             seconds=time.perf_counter() - t_net, **costs)
    trees = None
    if model_choice in (AUTO, TREES) and not network_run["cancelled"]:
        from mfg_desktop.core.trees import fit_trees

        state.set_stage(TREES)
        sample_weight = (None if weights is None else
                         np.array([weights.get(int(c), 1.0) for c in y_train], dtype=np.float64))
        try:
            trees, info = fit_trees(x_train, y_train, x_valid, y_valid, task, max(n_classes, 2), tree_spec,
                                    sample_weight=sample_weight, seed=int(seed), state=state)
        except Cancelled:
            if network_run["model"] is None:
                raise
            network_run["cancelled"] = True  # keep the network; the trees were not finished
        else:
            raw_valid[TREES] = trees.predict(x_valid)
            candidates[TREES] = make_candidate(TREES, y_valid, raw_valid[TREES], task,
                                               seconds=float(info["seconds"]), detail=info, **costs)
    if model_choice == AUTO and NETWORK in raw_valid and TREES in raw_valid:
        raw_valid[BLEND] = blend_outputs(raw_valid[NETWORK], raw_valid[TREES])
        candidates[BLEND] = make_candidate(BLEND, y_valid, raw_valid[BLEND], task, seconds=0.0, **costs)
    chosen, reason = choose_model({name: c.validation for name, c in candidates.items()}, task)
    if BLEND in candidates:
        chosen, reason = prefer_average(chosen, reason, BLEND, y_valid, raw_valid, task, seed=int(seed))
    if model_choice == AUTO and trees is None:
        reason = tr("{reason}; training was cancelled before the trees were finished", reason=reason)
    run = TrainingRun(
        id=uuid.uuid4().hex[:12],
        recipe=recipe,
        fitted=fitted,
        split_spec=split_spec,
        split_train=positions[train_pos],
        split_valid=positions[valid_pos],
        split_test=positions[test_pos],
        network=net_spec,
        seed=int(seed),
        history=network_run["history"],
        duration_s=time.perf_counter() - t_start,
        device=device,
        versions=library_versions(),
        data_fingerprint=data_fingerprint(df, data_files),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        cancelled=network_run["cancelled"],
        best_epoch=network_run["best_epoch"],
        epochs_run=network_run["epochs_run"],
        stopped_early=network_run["stopped_early"],
        class_weights=weights,
        metrics={},
        n_features=fitted.n_features,
        threshold=candidates[chosen].threshold if task == BINARY else None,
        mixed_precision=mixed,
        model=network_run["model"],
        trees=trees,
        candidates=candidates,
        chosen=chosen,
        choice_reason=reason,
        model_choice=model_choice,
        costs=None if cost_fn is None or cost_fp is None else {"fn": float(cost_fn), "fp": float(cost_fp)},
        history_spec=dict(history_spec) if history_spec else None,
    )
    run.metrics = validation_metrics(run.predict_matrix(x_valid), y_valid, task)
    if len(test_pos):
        from mfg_desktop.core.evaluate import attach_evaluation, evaluate_run

        state.set_progress(1.0, tr("evaluating on the held-out test rows"))
        try:
            attach_evaluation(run, evaluate_run(run, df, importance=False, baselines=test_baselines))
        except DataError as exc:  # the model is fine; its file then carries no evaluation, and says so
            run.test_evaluation = None
            log.warning("no evaluation on the test rows stored with run %s: %s", run.id, exc)
    return run


def _fit_network(net_spec: NetworkSpec, n_features: int, task: str, n_classes: int, x_train: np.ndarray,
                 y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray,
                 weights: dict[int, float] | None, seed: int, mixed: bool, device: str, state: JobState,
                 printer: Callable[[EpochUpdate], None] | None) -> dict[str, Any]:
    """Train the network with the progress bridge; its model and what happened."""
    keras = import_keras()

    keras.utils.set_random_seed(int(seed))
    batch_size = int(max(1, min(net_spec.batch_size, len(x_train))))
    steps = math.ceil(len(x_train) / batch_size)
    model = build_model(net_spec, n_features, task, max(n_classes, 2) if task != REGRESSION else 1,
                        seed=int(seed), steps_per_epoch=steps, mixed_precision=mixed)
    adapt_model(model, x_train, y_train, task)
    monitor, mode = resolve_monitor(net_spec, task)
    if monitor == "val_pr_auc" and len(np.unique(y_valid)) < 2:
        monitor, mode = "val_loss", "min"  # PR-AUC needs both classes among the validation rows
    bridge = make_progress_callback(state, epochs=net_spec.epochs, steps_per_epoch=steps,
                                    n_train=len(x_train), task=task, loss=resolve_loss(net_spec, task),
                                    patience=net_spec.patience, validation=(x_valid, y_valid),
                                    monitor=monitor, mode=mode, printer=printer)
    state.set_progress(0.0, tr("training on {device}", device=device))
    try:
        model.fit(callbacks=[bridge], **fit_arguments(x_train, y_train, task, epochs=net_spec.epochs,
                                                      batch_size=batch_size, class_weight=weights))
    except bridge.stop_exception:
        bridge.restore_best()  # cancelled: fit ended at once, without its own end-of-training steps
    except Exception as exc:
        if _is_out_of_memory(exc):
            raise TrainingError(
                tr("Training ran out of memory."),
                hint=tr("Reduce the batch size or the number of rows (or columns), then train again."),
            ) from exc
        raise
    if bridge.best_weights is None:
        if bridge.cancelled:
            raise Cancelled()
        raise TrainingError(tr("Training diverged from the first epoch (the loss is not a number)."),
                            hint=tr("Lower the learning rate, or check the inputs for extreme values."))
    return {"model": model, "history": bridge.history, "best_epoch": bridge.best_epoch,
            "epochs_run": bridge.epochs_done, "stopped_early": bridge.stopped_early,
            "cancelled": bridge.cancelled}


def _resolve_class_weights(choice: Any, task: str, y_raw: pd.Series, y_train: np.ndarray,
                           n_classes: int) -> dict[int, float] | None:
    if task == REGRESSION or choice is None or choice is False:
        return None
    if isinstance(choice, Mapping):
        weights = {int(k): float(v) for k, v in choice.items()}
        bad = [k for k in weights if not 0 <= k < n_classes] + [k for k, v in weights.items() if not v > 0]
        if bad:
            raise TrainingError(tr("Class weights must be positive and for class indices 0..{last}.", last=n_classes - 1))
        return {c: weights.get(c, 1.0) for c in range(n_classes)}
    if choice == "auto":
        if not suggest_class_weights(y_raw, task):
            return None
    elif choice is not True:
        raise TrainingError(tr("Unknown class-weight choice {choice}; use auto, on or off.", choice=repr(choice)))
    return class_weights(y_train, n_classes)


def validation_metrics(out: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    """Headline numbers on the validation rows from the model's outputs there (the test rows are
    left for the Evaluate step)."""
    from sklearn import metrics as skm

    if task == REGRESSION:
        return {"val_mae": float(skm.mean_absolute_error(y, out)),
                "val_rmse": float(math.sqrt(skm.mean_squared_error(y, out))),
                "val_r2": float(skm.r2_score(y, out)) if len(y) > 1 else math.nan}
    result = {"val_accuracy": float(skm.accuracy_score(y, out.argmax(axis=1)))}
    if task == BINARY and len(np.unique(y)) == 2:
        result["val_roc_auc"] = float(skm.roc_auc_score(y, out[:, 1]))
        result["val_pr_auc"] = float(skm.average_precision_score(y, out[:, 1]))
    elif task == MULTICLASS:
        result["val_balanced_accuracy"] = float(skm.balanced_accuracy_score(y, out.argmax(axis=1)))
    return result
