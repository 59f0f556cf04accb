"""Search over network configurations: N candidates, the best kept on the validation rows only.

The candidates (:func:`candidate_specs`) are drawn from the seed, so the same search on this PC
and on a cluster tries the same networks: the first is the chosen preset itself, the others vary
the hidden sizes, the depth, dropout, the learning rate and the input embeddings (piecewise-linear
with 4-16 dimensions, or none). Every candidate trains on the same split with the same seed; the
test rows are never looked at.

* On this PC (no session): one after another, each to its own early stop, no Ray needed.
* On a cluster (:class:`cluster.ClusterSession`): in parallel with Ray Tune, one CPU a trial,
  the table in the object store once (``tune.with_parameters``), and ASHA stopping hopeless
  trials at epoch rungs (1, 2, 4, ...). Only trials that ran to their own end compete for "best"
  (an ASHA-stopped trial has no finished model); their weights come back through a small actor.

The score each trial is judged by is what early stopping follows (``network.resolve_monitor``),
turned so that higher is better: PR-AUC (binary), accuracy (multiclass), minus the validation
loss (regression). Every trial with its score is stored in the model file (``TrainingRun.search``)
for the report.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import Cancelled, TrainingError
from mfg_desktop.core.i18n import N_, tr
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import Recipe
from mfg_desktop.core.split import SplitSpec

WIDTHS = (32, 64, 128, 256)
DROPOUTS = (0.0, 0.1, 0.2, 0.3)
EMBEDDINGS = (0, 4, 8, 16)  # 0: no piecewise-linear encoding
# stored in the run as they are; shown through tr()
FINISHED, STOPPED, FAILED, CANCELLED = N_("finished"), N_("stopped by ASHA"), N_("failed"), N_("cancelled")


@dataclass
class Trial:
    number: int  # from 1
    config: dict[str, Any]  # what differs from the base network
    status: str = FINISHED
    score: float | None = None  # higher is better (see the module text)
    score_name: str = ""
    epochs_run: int = 0
    seconds: float = 0.0
    error: str | None = None
    best: bool = False

    def line(self) -> str:
        cfg = ", ".join(f"{k} {v}" for k, v in self.config.items())
        score = "—" if self.score is None else f"{self.score:.4f}"
        extra = f" ({self.error})" if self.error else ""
        mark = "  <- " + tr("best") if self.best else ""
        return tr("trial {number}: {config}: {metric} {score} after {epochs} epochs, {status}{error}, {seconds:.1f} s",
                  number=self.number, config=cfg, metric=self.score_name, score=score, epochs=self.epochs_run,
                  status=tr(self.status), error=extra, seconds=self.seconds) + mark

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def candidate_specs(base: NetworkSpec, n: int, seed: int = 0) -> list[tuple[dict[str, Any], NetworkSpec]]:
    """``n`` networks to try: the base one, then random variations drawn from ``seed``."""
    if n < 1:
        raise TrainingError(tr("A search needs at least one configuration."))
    rng = np.random.default_rng(int(seed) + 7919)
    out: list[tuple[dict[str, Any], NetworkSpec]] = []
    seen: set[str] = set()

    def describe(spec: NetworkSpec) -> dict[str, Any]:
        return {"hidden": list(spec.hidden), "dropout": spec.dropout, "learning_rate": spec.learning_rate,
                "embedding": spec.embedding_dim if spec.numeric_encoding == "ple" else 0}

    candidates = [base]
    for _ in range(50 * n):
        if len(candidates) >= n:
            break
        width, depth = int(rng.choice(WIDTHS)), int(rng.integers(1, 4))
        embedding = int(rng.choice(EMBEDDINGS))
        lr = float(f"{10 ** rng.uniform(-3.5, -2.3):.2g}")
        spec = base.with_changes(hidden=[width] * depth, dropout=float(rng.choice(DROPOUTS)), learning_rate=lr,
                                 numeric_encoding="ple" if embedding else "none",
                                 embedding_dim=embedding or base.embedding_dim)
        candidates.append(spec)
    for spec in candidates:
        key = repr(describe(spec))
        if key in seen:
            continue
        seen.add(key)
        out.append((describe(spec), spec))
    return out[:n]


def _score(update: Any) -> tuple[str, float | None]:
    """The score of an epoch (an :class:`EpochUpdate`), higher is better."""
    if update.val_pr_auc is not None and math.isfinite(update.val_pr_auc):
        return "val_pr_auc", float(update.val_pr_auc)
    if update.metric_name == "accuracy" and update.val_metric is not None:
        return "val_accuracy", float(update.val_metric)
    return "-val_loss", None if update.val_loss is None else -float(update.val_loss)


def run_score(run: Any) -> tuple[str, float | None]:
    """The score of a finished run, at its best epoch (the weights it keeps)."""
    h, i = run.history, max(run.best_epoch, 1) - 1
    if "val_pr_auc" in h and len(h["val_pr_auc"]) > i and math.isfinite(h["val_pr_auc"][i]):
        return "val_pr_auc", float(h["val_pr_auc"][i])
    if run.task != "regression" and "val_accuracy" in h and len(h["val_accuracy"]) > i:
        return "val_accuracy", float(h["val_accuracy"][i])
    return "-val_loss", -float(h["val_loss"][i]) if "val_loss" in h and len(h["val_loss"]) > i else None


class _TrialState(JobState):
    """A trial's JobState: progress scaled into the search's share, Cancel from the search."""

    def __init__(self, parent: JobState, start: float, span: float, on_epoch: Callable[[Any], None] | None = None):
        super().__init__()
        self._parent, self._start, self._span, self._on_epoch = parent, start, span, on_epoch

    def set_progress(self, fraction: float, message: str = "") -> None:
        super().set_progress(fraction, message)
        self._parent.set_progress(self._start + self._span * self.progress, message)

    def set_partial_result(self, result: Any) -> None:
        if self._on_epoch is not None and hasattr(result, "val_loss"):
            self._on_epoch(result)

    def is_interruption_requested(self) -> bool:
        return self._parent.is_interruption_requested()


def search_run(
    df: pd.DataFrame,
    recipe: Recipe,
    split_spec: SplitSpec,
    base: NetworkSpec,
    n_trials: int,
    seed: int = 0,
    class_weight: Any = "auto",
    state: JobState | None = None,
    data_files: Sequence[str | Path] = (),
    on_trial: Callable[[Trial], None] | None = None,
    session: Any = None,
) -> Any:
    """Try ``n_trials`` networks and return the best one's :class:`TrainingRun`, with every trial
    in ``run.search``. ``session``: a connected cluster session (Ray Tune with ASHA), else this PC.
    Cancel ends the search: the best finished trial so far is returned, or :class:`Cancelled`."""
    from mfg_desktop.core.fingerprint import data_fingerprint

    state = ensure_state(state)
    candidates = candidate_specs(base, n_trials, seed)
    if session is None:
        trials, runs = _search_here(df, recipe, split_spec, candidates, seed, class_weight, state, on_trial)
    else:
        trials, runs = _search_on_cluster(df, recipe, split_spec, candidates, seed, class_weight, state, on_trial)
    finished = [t for t in trials if t.status == FINISHED and t.score is not None and t.number in runs]
    if not finished:
        if state.is_interruption_requested():
            raise Cancelled()
        reasons = "; ".join(tr("trial {number}: {reason}", number=t.number, reason=t.error or tr(t.status))
                            for t in trials)
        raise TrainingError(tr("No configuration of the search finished training ({reasons}).", reasons=reasons))
    best = max(finished, key=lambda t: (t.score, -t.number))
    best.best = True
    run = runs[best.number]
    run.search = [t.to_dict() for t in trials]
    run.data_fingerprint = data_fingerprint(df, data_files)
    return run


def _search_here(df, recipe, split_spec, candidates, seed, class_weight, state, on_trial):
    from mfg_desktop.core.train import train_run

    trials: list[Trial] = []
    runs: dict[int, Any] = {}
    n = len(candidates)
    for i, (config, spec) in enumerate(candidates):
        trial = Trial(number=i + 1, config=config)
        if state.is_interruption_requested():
            trial.status = CANCELLED
            trials.append(trial)
            continue
        started = time.perf_counter()
        try:
            run = train_run(df, recipe, split_spec, spec, seed=seed, class_weight=class_weight,
                            state=_TrialState(state, i / n, 1 / n), model_choice="network")
        except Cancelled:
            trial.status = CANCELLED
        except TrainingError as exc:
            trial.status, trial.error = FAILED, exc.message
        else:
            trial.status = CANCELLED if run.cancelled else FINISHED
            trial.score_name, trial.score = run_score(run)
            trial.epochs_run = run.epochs_run
            if not run.cancelled:
                runs[trial.number] = run
        trial.seconds = time.perf_counter() - started
        trials.append(trial)
        if on_trial is not None:
            on_trial(trial)
    return trials, runs


class _ResultStore:
    """Actor holding the finished trials' runs (without model) and weights until the search ends."""

    def __init__(self) -> None:
        self._results: dict[int, Any] = {}

    def put(self, number: int, result: Any) -> None:
        self._results[number] = result

    def get(self, number: int) -> Any:
        return self._results.get(number)


def _tune_trial(config: dict[str, Any], frame: pd.DataFrame | None = None,
                setup: dict[str, Any] | None = None) -> None:
    """One Tune trial on a worker: train_run reporting its score per epoch (ASHA may stop it)."""
    import numpy as np
    from ray import tune

    from mfg_desktop.core.train import train_run

    number = int(config["trial"])
    spec = setup["specs"][number - 1]
    best = [-math.inf]

    def report(update: Any) -> None:
        name, value = _score(update)
        if value is not None and math.isfinite(value):
            best[0] = max(best[0], value)
        # The last epoch is reported only after the run is stored: ASHA ends a trial at its last
        # rung as soon as the result arrives, which would lose a finished model.
        if update.epoch < update.epochs:
            tune.report({"score": best[0] if math.isfinite(best[0]) else -1e30, "epoch": update.epoch,
                         "score_name": name})

    state = _TrialState(JobState(), 0.0, 1.0, on_epoch=report)
    try:
        run = train_run(frame, setup["recipe"], setup["split"], spec, seed=setup["seed"],
                        class_weight=setup["class_weight"], state=state, model_choice="network")
    except TrainingError as exc:
        tune.report({"score": -1e30, "epoch": 0, "error": exc.message})
        return
    weights = [np.asarray(w) for w in run.model.get_weights()]
    run.model = None
    import ray

    ray.get(setup["store"].put.remote(number, {"run": run, "weights": weights}))
    name, value = run_score(run)
    tune.report({"score": value if value is not None else -1e30, "epoch": spec.epochs, "score_name": name})


_LIVE_STATES: dict[int, JobState] = {}


def _tune_helpers(tune: Any) -> dict[str, type]:
    """A Tune callback (progress into the JobState) and stopper (the JobState's Cancel), which hold
    only a key into :data:`_LIVE_STATES` because Tune pickles them (a JobState holds a lock)."""

    class Progress(tune.Callback):
        def __init__(self, key: int, total: int) -> None:
            self.key, self.total, self.reported = key, total, 0

        def on_trial_result(self, iteration, trials, trial, result, **info):
            from mfg_desktop.core.search import _LIVE_STATES  # imported, not captured: Tune pickles this

            self.reported += 1
            state = _LIVE_STATES.get(self.key)
            if state is not None:
                state.set_progress(min(self.reported / max(self.total, 1), 0.99),
                                   tr("search: {epochs} trial epochs done", epochs=self.reported))

    class StopOnCancel(tune.Stopper):
        def __init__(self, key: int) -> None:
            self.key = key

        def __call__(self, trial_id, result):
            return False

        def stop_all(self):
            from mfg_desktop.core.search import _LIVE_STATES

            state = _LIVE_STATES.get(self.key)
            return state is not None and state.is_interruption_requested()

    return {"callback": Progress, "stopper": StopOnCancel}


def _search_on_cluster(df, recipe, split_spec, candidates, seed, class_weight, state, on_trial):
    import ray

    from mfg_desktop.core.cluster import import_tune, rebuild_run

    tune = import_tune()
    from ray.tune.schedulers import ASHAScheduler

    n = len(candidates)
    epochs = max(spec.epochs for _, spec in candidates)
    store = ray.remote(num_cpus=0)(_ResultStore).remote()
    setup = {"specs": [spec for _, spec in candidates], "recipe": recipe, "split": split_spec, "seed": int(seed),
             "class_weight": class_weight, "store": store}
    key = id(state)
    _LIVE_STATES[key] = state  # Tune pickles its callbacks; they find the JobState by this key
    progress = _tune_helpers(tune)
    scheduler = ASHAScheduler(time_attr="epoch", metric="score", mode="max", max_t=epochs, grace_period=1,
                              reduction_factor=2)
    trainable = tune.with_resources(tune.with_parameters(_tune_trial, frame=df, setup=setup), {"cpu": 1})
    started = time.perf_counter()
    # Tune's console table and result hints would mix with the app's own output
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    with tempfile.TemporaryDirectory(prefix="mfg_tune_") as storage, contextlib.redirect_stdout(io.StringIO()):
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search(list(range(1, n + 1)))},
            tune_config=tune.TuneConfig(scheduler=scheduler, reuse_actors=True),
            run_config=tune.RunConfig(name="mfg_search", storage_path=storage, verbose=0,
                                      stop=progress["stopper"](key), callbacks=[progress["callback"](key, n * epochs)]),
        )
        try:
            grid = tuner.fit()
        finally:
            _LIVE_STATES.pop(key, None)
        results = {int(r.config["trial"]): r for r in grid}
    elapsed = time.perf_counter() - started
    trials: list[Trial] = []
    runs: dict[int, Any] = {}
    for number, (config, _) in enumerate(candidates, start=1):
        trial = Trial(number=number, config=config, seconds=elapsed)
        result = results.get(number)
        stored = ray.get(store.get.remote(number))
        metrics = (result.metrics or {}) if result is not None else {}
        trial.epochs_run = int(metrics.get("epoch", 0) or 0)
        if result is not None and result.error is not None:
            trial.status, trial.error = FAILED, str(result.error).strip().splitlines()[-1][:200]
        elif metrics.get("error"):
            trial.status, trial.error = FAILED, str(metrics["error"])
        elif stored is not None:
            run = rebuild_run(stored)
            trial.status = CANCELLED if run.cancelled else FINISHED
            trial.score_name, trial.score = run_score(run)
            trial.epochs_run = run.epochs_run
            trial.seconds = float(run.duration_s)
            if not run.cancelled:
                run.device = tr("{device} on a Ray cluster node", device=run.device)
                runs[number] = run
        else:
            trial.status = CANCELLED if state.is_interruption_requested() else STOPPED
            trial.score_name = str(metrics.get("score_name", ""))
            value = metrics.get("score")
            trial.score = float(value) if value is not None and value > -1e29 else None
        trials.append(trial)
    ray.kill(store)
    if on_trial is not None:
        for trial in trials:
            on_trial(trial)
    state.set_progress(1.0, tr("search: {finished} of {trials} trials finished", finished=len(runs), trials=n))
    return trials, runs
