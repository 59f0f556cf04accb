"""The boosted-tree challenger: LightGBM on the same recipe matrix and split as the network.

:func:`fit_trees` trains on the training rows with early stopping on the validation rows (the
validation number it follows is the one the models are compared by: PR-AUC for a binary target,
log-loss for multiclass, RMSE for regression), reports every round through the
:class:`~mfg_desktop.core.jobs.JobState` progress protocol and stops at once on cancel.

The fitted model lives in the model file as LightGBM's own text format (``model_to_string``),
reloaded with ``lgb.Booster(model_str=...)``: text describing trees, no code and no pickle.
:func:`trees_from_text` checks that text line by line against the grammar LightGBM writes before
LightGBM's parser sees it, so a crafted tree part (Python source, a pickle, broken lines) is
refused with :class:`ModelFileError` instead of reaching a C++ parser that prints to stderr.
lightgbm is imported inside functions only.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np

from mfg_desktop.core.errors import Cancelled, ModelFileError, TrainingError
from mfg_desktop.core.i18n import N_, tr
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION

TREES = "trees"
# Below this many training rows one thread is faster than several (thread start-up and, on a busy
# machine, waiting for cores dominate), as measured for HistGradientBoosting in core/evaluate.py.
SINGLE_THREAD_ROWS = 50_000
END_OF_TREES = "end of trees"
_log = logging.getLogger(__name__)


@dataclass
class TreeSpec:
    """LightGBM settings (JSON-able). Defaults: LightGBM's own, with a lower learning rate and many
    rounds cut by early stopping, the usual practice on tabular data."""

    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    max_rounds: int = 2000
    early_stopping_rounds: int = 100

    def __post_init__(self) -> None:
        problems = []
        if not self.learning_rate > 0:
            problems.append(tr("learning rate must be positive"))
        if self.num_leaves < 2 or self.min_data_in_leaf < 1:
            problems.append(tr("trees need at least 2 leaves and 1 row per leaf"))
        if not (0 < self.feature_fraction <= 1 and 0 < self.bagging_fraction <= 1):
            problems.append(tr("feature and bagging fractions must be in (0, 1]"))
        if self.max_rounds < 1 or self.early_stopping_rounds < 1:
            problems.append(tr("rounds and early-stopping rounds must be at least 1"))
        if self.lambda_l2 < 0:
            problems.append(tr("L2 regularisation cannot be negative"))
        if problems:
            raise TrainingError(tr("Tree settings: {problems}.", problems="; ".join(problems)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# The preset names keep their meaning for the trees too: fast stops sooner, thorough learns slower.
TREE_PRESETS: dict[str, TreeSpec] = {
    "fast": TreeSpec(learning_rate=0.1, max_rounds=500, early_stopping_rounds=50),
    "balanced": TreeSpec(),
    "thorough": TreeSpec(learning_rate=0.03, max_rounds=4000, early_stopping_rounds=200),
}


def tree_preset(name: str) -> TreeSpec:
    if name not in TREE_PRESETS:
        raise TrainingError(tr("Unknown preset '{name}'.", name=name),
                            hint=tr("Use one of: {choices}.", choices=", ".join(TREE_PRESETS)))
    return TreeSpec.from_dict(TREE_PRESETS[name].to_dict())


class _QuietLogger:
    """LightGBM's messages go to Python logging at debug level, never to stdout/stderr."""

    def info(self, msg: str) -> None:
        _log.debug("lightgbm: %s", msg.strip())

    def warning(self, msg: str) -> None:
        _log.debug("lightgbm warning: %s", msg.strip())


@lru_cache(maxsize=1)
def _lightgbm() -> Any:
    import lightgbm as lgb

    lgb.register_logger(_QuietLogger())
    return lgb


class TreeModel:
    """A fitted LightGBM booster with the task it answers; outputs shaped like the network's."""

    def __init__(self, booster: Any, task: str, n_classes: int) -> None:
        self.booster = booster
        self.task = task
        self.n_classes = n_classes

    @property
    def n_features(self) -> int:
        return int(self.booster.num_feature())

    @property
    def n_trees(self) -> int:
        return int(self.booster.num_trees())

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, n_classes) probabilities (binary: [negative, positive]) or (n,) values, float64."""
        x = np.asarray(x, dtype=np.float64)
        if len(x) == 0:
            raw = np.zeros((0,) if self.task != MULTICLASS else (0, self.n_classes))
        else:
            raw = np.asarray(self.booster.predict(x, num_threads=_threads(len(x))), dtype=np.float64)
        if self.task == BINARY:
            p = raw.reshape(-1)
            return np.column_stack([1.0 - p, p])
        if self.task == REGRESSION:
            return raw.reshape(-1)
        return raw.reshape(len(x), self.n_classes)

    def to_text(self) -> str:
        """LightGBM's text format, trees only (the training parameters are not needed to predict)."""
        text = self.booster.model_to_string()
        end = text.index(END_OF_TREES) + len(END_OF_TREES)
        return text[:end] + "\n"


def _threads(n_rows: int) -> int:
    import os

    return 1 if n_rows < SINGLE_THREAD_ROWS else max(1, os.cpu_count() or 1)


def _objective(task: str, n_classes: int) -> dict[str, Any]:
    if task == BINARY:
        return {"objective": "binary", "metric": "average_precision"}
    if task == MULTICLASS:
        return {"objective": "multiclass", "num_class": int(n_classes), "metric": "multi_logloss"}
    if task == REGRESSION:
        return {"objective": "regression", "metric": "rmse"}
    raise TrainingError(tr("Unknown task '{task}'.", task=task))


METRIC_TEXT = {"average_precision": "PR-AUC", "multi_logloss": N_("log-loss"), "rmse": "RMSE"}


def fit_trees(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    task: str,
    n_classes: int,
    spec: TreeSpec | None = None,
    *,
    sample_weight: np.ndarray | None = None,
    seed: int = 0,
    state: JobState | None = None,
    progress_every_s: float = 0.1,
) -> tuple[TreeModel, dict[str, Any]]:
    """Train LightGBM with early stopping on the validation rows.

    Returns the model (cut at its best round) and what happened: ``best_round``, ``rounds_run``,
    ``metric`` (LightGBM's name), ``history`` (the validation metric per round) and ``seconds``.
    Progress goes through ``state.set_progress`` ("LightGBM: round i of N, best j, val PR-AUC x");
    cancel raises :class:`Cancelled` within one round.
    """
    lgb = _lightgbm()
    spec = spec or TreeSpec()
    state = ensure_state(state)
    t0 = time.perf_counter()
    if len(x_valid) == 0:
        raise TrainingError(tr("The trees need validation rows for early stopping."),
                            hint=tr("Give the split a validation share above 0."))
    params = {
        **_objective(task, n_classes),
        "learning_rate": spec.learning_rate, "num_leaves": spec.num_leaves,
        "min_data_in_leaf": int(max(1, min(spec.min_data_in_leaf, len(x_train) // 4))),
        "feature_fraction": spec.feature_fraction, "bagging_fraction": spec.bagging_fraction,
        "bagging_freq": 1 if spec.bagging_fraction < 1 else 0, "lambda_l2": spec.lambda_l2,
        "seed": int(seed), "deterministic": True, "force_row_wise": True,
        "num_threads": _threads(len(x_train)), "verbosity": -1,
    }
    y_fit = np.asarray(y_train, dtype=np.float64)
    train_set = lgb.Dataset(np.asarray(x_train, dtype=np.float64), y_fit, weight=sample_weight,
                            free_raw_data=True, params={"verbosity": -1})
    valid_set = lgb.Dataset(np.asarray(x_valid, dtype=np.float64), np.asarray(y_valid, dtype=np.float64),
                            reference=train_set, params={"verbosity": -1})
    metric = params["metric"]
    text = tr(METRIC_TEXT[metric])
    history: list[float] = []
    last_emit = [0.0]

    def progress(env: Any) -> None:
        if state.is_interruption_requested():
            raise Cancelled()
        value = float(env.evaluation_result_list[0][2]) if env.evaluation_result_list else math.nan
        history.append(value)
        now = time.perf_counter()
        done = env.iteration + 1
        if now - last_emit[0] >= progress_every_s or done == spec.max_rounds:
            last_emit[0] = now
            higher = metric == "average_precision"
            best = int(np.nanargmax(history) if higher else np.nanargmin(history)) + 1 if history else 0
            # TRANSLATORS: keep "LightGBM: " at the start as it is (the window and the CLI look for it)
            state.set_progress(done / spec.max_rounds,
                               tr("LightGBM: round {done} of at most {rounds}, best {best} "
                                  "(validation {metric} {value:.4f})", done=done, rounds=spec.max_rounds, best=best,
                                  metric=text, value=history[best - 1]))

    progress.order = 5  # type: ignore[attr-defined]  # before early stopping, so every round is seen
    # TRANSLATORS: keep "LightGBM: " at the start as it is (the window and the CLI look for it)
    state.set_progress(0.0, tr("LightGBM: fitting trees on {rows:,} training rows", rows=len(x_train)))
    booster = lgb.train(params, train_set, num_boost_round=spec.max_rounds, valid_sets=[valid_set],
                        valid_names=["validation"],
                        callbacks=[progress, lgb.early_stopping(spec.early_stopping_rounds, verbose=False)])
    best = int(booster.best_iteration or booster.current_iteration())
    # Keep only the rounds up to the best one: the file holds exactly the model that was validated.
    model = TreeModel(lgb.Booster(model_str=booster.model_to_string(num_iteration=best)), task, n_classes)
    info = {"best_round": best, "rounds_run": len(history), "metric": metric,
            "history": [float(v) for v in history], "seconds": time.perf_counter() - t0,
            "spec": spec.to_dict()}
    # TRANSLATORS: keep "LightGBM: " at the start as it is (the window and the CLI look for it)
    state.set_progress(1.0, tr("LightGBM: {kept} rounds kept of {run} run", kept=best, run=len(history)))
    return model, info


# --------------------------------------------------------------------------------------------
# reading the text format safely

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan)"
_NUMBERS = re.compile(rf"^{_NUMBER}(?: {_NUMBER})*$")
_HEADER_KEYS = {
    "version": re.compile(r"^v\d+$"),
    "num_class": re.compile(r"^\d+$"),
    "num_tree_per_iteration": re.compile(r"^\d+$"),
    "label_index": re.compile(r"^\d+$"),
    "max_feature_idx": re.compile(r"^\d+$"),
    "objective": re.compile(r"^(binary|multiclass|regression)( [a-z_]+:[0-9.eE+-]+)*$"),
    "feature_names": re.compile(r"^Column_\d+( Column_\d+)*$"),
    "feature_infos": re.compile(r"^(none|\[[^\]\s]*:[^\]\s]*\]|-?\d+(:-?\d+)*)( (none|\[[^\]\s]*:[^\]\s]*\]|-?\d+(:-?\d+)*))*$"),
    "tree_sizes": re.compile(r"^\d+( \d+)*$"),
}
_TREE_KEYS = {"num_leaves", "num_cat", "split_feature", "split_gain", "threshold", "decision_type",
              "left_child", "right_child", "leaf_value", "leaf_weight", "leaf_count", "internal_value",
              "internal_weight", "internal_count", "is_linear", "shrinkage", "cat_boundaries", "cat_threshold"}


def check_tree_text(text: str) -> None:
    """Raise ValueError naming the first line that is not what LightGBM writes for a model."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != "tree" or not lines[1].startswith("version="):
        raise ValueError(tr("it does not start like a LightGBM model ('tree', 'version=...')"))
    in_trees = False
    ended = False
    for number, line in enumerate(lines, start=1):
        if ended:
            if line.strip():
                raise ValueError(tr("line {number} follows '{end}'", number=number, end=END_OF_TREES))
            continue
        if number == 1 or line == "":
            continue
        if line == END_OF_TREES:
            ended = True
            continue
        if re.fullmatch(r"Tree=\d+", line):
            in_trees = True
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(tr("line {number} is not 'name=value'", number=number))
        if in_trees:
            if key not in _TREE_KEYS or (value and not _NUMBERS.match(value)):
                raise ValueError(tr("line {number} ('{key}') is not a tree's numbers", number=number, key=key[:40]))
        else:
            pattern = _HEADER_KEYS.get(key)
            if pattern is None or not pattern.match(value):
                raise ValueError(tr("line {number} ('{key}') is not a LightGBM model header", number=number,
                                    key=key[:40]))
    if not ended:
        raise ValueError(tr("it has no '{end}' line (truncated)", end=END_OF_TREES))


def trees_from_text(data: bytes, task: str, n_classes: int, n_features: int, *, file: Any = None) -> TreeModel:
    """The tree model stored as LightGBM text, checked before and after LightGBM reads it."""
    def refuse(why: str) -> ModelFileError:
        return ModelFileError(tr("The model file's tree part is not a valid LightGBM model ({why}); it is refused.",
                                 why=why), file=file, hint=tr("Use the file as saved by mfg_desktop."))

    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise refuse(tr("it is not plain text")) from exc
    try:
        check_tree_text(text)
    except ValueError as exc:
        raise refuse(str(exc)) from exc
    lgb = _lightgbm()
    try:
        booster = lgb.Booster(model_str=text)
    except Exception as exc:  # lightgbm.basic.LightGBMError and anything its parser raises
        raise refuse(tr("LightGBM cannot read it: {reason}", reason=exc)) from exc
    outputs = 1 if task != MULTICLASS else n_classes
    if booster.num_feature() != n_features or booster.num_model_per_iteration() != outputs:
        raise refuse(tr("it has {inputs} inputs and {outputs} outputs, the recipe {recipe_inputs} and "
                        "{recipe_outputs}", inputs=booster.num_feature(), outputs=booster.num_model_per_iteration(),
                        recipe_inputs=n_features, recipe_outputs=outputs))
    return TreeModel(booster, task, n_classes)
