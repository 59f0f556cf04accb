"""Benchmark the default network against HistGradientBoosting, and the app's training against a bare model.fit.

Run:  python tests/benchmarks/bench_train.py [--seeds 5] [--derived] [--skip-quality] [--skip-feeding]
      [--rounds 5] [--epochs 10] [--no-bridge]
      (speed only: python tests/benchmarks/bench_train.py --skip-quality --skip-feeding)

1. Quality (issue 4's target for the default "balanced" preset): on ai4i2020 with the leak columns
   left out (as the app's defaults do) and on steel plates (7 classes), the app's train_run with its
   defaults against scikit-learn's HistGradientBoosting with its defaults, on the same stratified
   split (HGB fits on the training + validation rows, the network trains on the training rows and
   uses the validation rows for early stopping; both are scored on the test rows only). Prints
   PR-AUC / ROC-AUC (ai4i) and accuracy (steel) per seed and on average.
2. Feeding: epoch time with numpy arrays into model.fit against a keras PyDataset, same model.
3. The app against a bare model.fit (issue 3's target): the Train step's training in its worker
   with live plots (offscreen) against the same training as a bare ``model.fit`` in the main
   thread, and ``train_run`` without Qt (the bridge), interleaved over several rounds; prints the
   epoch-time ratios (target <= 1.10) and the longest gap of a 10 ms GUI-thread timer during
   training, also less the GUI thread's CPU waits (target <= 50 ms). :class:`Comparison` says exactly what each side runs and why the
   comparison is fair.

``BENCH_SPEC='{"learning_rate": 0.0005}'`` changes the preset for an experiment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd

from mfg_desktop.core.formula import parse_derived_list
from mfg_desktop.core.network import preset
from mfg_desktop.core.profile import analyze_target
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

DATA = ROOT / "tests" / "data"
DERIVED = [
    'power = "Torque [Nm]" * "Rotational speed [rpm]" * 2 * pi / 60',
    'dT = "Process temperature [K]" - "Air temperature [K]"',
    'wear_torque = "Tool wear [min]" * "Torque [Nm]"',
]


def _spec():
    spec = preset("balanced")
    changes = json.loads(os.environ.get("BENCH_SPEC", "{}"))
    return spec.with_changes(**changes) if changes else spec


def _default_recipe(df: pd.DataFrame, target: str, derived_lines: list[str] = ()):
    """What the app proposes: leak suspects unticked, everything else as proposed."""
    derived = parse_derived_list(list(derived_lines), list(map(str, df.columns)))
    from mfg_desktop.core.formula import apply_derived

    report = analyze_target(apply_derived(df, derived) if derived else df, target)
    leaks = {s.column: s.reason for s in report.leak_suspects}
    return propose_recipe(df, target, derived=derived, leak_suspects=leaks)


def _hgb_inputs(run, df: pd.DataFrame) -> pd.DataFrame:
    from mfg_desktop.core.formula import apply_derived

    frame = apply_derived(df, run.recipe.derived)[run.recipe.inputs].copy()
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c]):
            frame[c] = frame[c].astype("category")
    return frame


def quality(seeds: int, derived: bool, only: str | None = None) -> None:
    spec = _spec()
    cw = os.environ.get("BENCH_CW", "auto")
    class_weight = {"auto": "auto", "on": True, "off": False}[cw]
    print(f"network: {json.dumps(spec.to_dict())}  class weights: {cw}")
    if only != "steel":
        _ai4i(spec, class_weight, seeds, derived)
    if only != "ai4i":
        _steel(spec, class_weight, seeds)


def _ai4i(spec, class_weight, seeds: int, derived: bool) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score, roc_auc_score

    ai4i = pd.read_csv(DATA / "ai4i2020.csv", encoding="utf-8-sig")
    recipe = _default_recipe(ai4i, "Machine_failure", DERIVED if derived else [])
    print(f"ai4i2020 inputs: {recipe.inputs}")
    rows = []
    for seed in range(seeds):
        run = train_run(ai4i, recipe, SplitSpec(seed=seed), spec, seed=seed, class_weight=class_weight)
        test = ai4i.iloc[run.split_test]
        y = run.fitted.encode_target(test)
        p_net = run.predict_matrix(run.fitted.transform(test))[:, 1]
        fit_rows = np.concatenate([run.split_train, run.split_valid])
        x = _hgb_inputs(run, ai4i)
        hgb = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
        hgb.fit(x.iloc[fit_rows], run.fitted.encode_target(ai4i.iloc[fit_rows]))
        p_hgb = hgb.predict_proba(x.iloc[run.split_test])[:, 1]
        r = (average_precision_score(y, p_net), roc_auc_score(y, p_net),
             average_precision_score(y, p_hgb), roc_auc_score(y, p_hgb))
        rows.append(r)
        print(f"  seed {seed}: network PR-AUC {r[0]:.3f} ROC-AUC {r[1]:.3f} | HGB PR-AUC {r[2]:.3f} "
              f"ROC-AUC {r[3]:.3f} | best epoch {run.best_epoch}/{run.epochs_run}, {run.duration_s:.0f} s",
              flush=True)
    m = np.mean(rows, axis=0)
    print(f"ai4i2020 mean over {seeds} seeds: network PR-AUC {m[0]:.3f} ROC-AUC {m[1]:.3f} | HGB PR-AUC "
          f"{m[2]:.3f} ROC-AUC {m[3]:.3f} | PR-AUC gap {m[2] - m[0]:+.3f} (target <= 0.05)")


def _steel(spec, class_weight, seeds: int) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score

    steel = pd.read_csv(DATA / "SteelPlatesFaults_Clean.csv")
    target = "+".join(steel.columns[-7:])
    recipe = _default_recipe(steel, target)
    rows = []
    for seed in range(seeds):
        run = train_run(steel, recipe, SplitSpec(seed=seed), spec, seed=seed, class_weight=class_weight)
        test = steel.iloc[run.split_test]
        y = run.fitted.encode_target(test)
        acc_net = accuracy_score(y, run.predict_matrix(run.fitted.transform(test)).argmax(axis=1))
        fit_rows = np.concatenate([run.split_train, run.split_valid])
        x = _hgb_inputs(run, steel)
        hgb = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
        hgb.fit(x.iloc[fit_rows], run.fitted.encode_target(steel.iloc[fit_rows]))
        acc_hgb = accuracy_score(y, hgb.predict(x.iloc[run.split_test]))
        rows.append((acc_net, acc_hgb))
        print(f"  seed {seed}: network accuracy {acc_net:.3f} | HGB accuracy {acc_hgb:.3f} | best epoch "
              f"{run.best_epoch}/{run.epochs_run}, {run.duration_s:.0f} s", flush=True)
    m = np.mean(rows, axis=0)
    print(f"steel plates mean over {seeds} seeds: network accuracy {m[0]:.3f} | HGB accuracy {m[1]:.3f} | "
          f"gap {m[1] - m[0]:+.3f} (target <= 0.03)")


def _epoch_times(fit) -> list[float]:
    import keras

    marks: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            marks.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            marks.append(time.perf_counter())

    fit(Clock())
    return [marks[i + 1] - marks[i] for i in range(0, len(marks), 2)]


def feeding(epochs: int = 6) -> None:
    """numpy arrays straight into model.fit (what train_run does) against a keras PyDataset."""
    import keras

    from mfg_desktop.core.network import adapt_model, build_model

    ai4i = pd.read_csv(DATA / "ai4i2020.csv", encoding="utf-8-sig")
    recipe = _default_recipe(ai4i, "Machine_failure")
    spec = _spec().with_changes(epochs=epochs, patience=epochs + 1)
    run = train_run(ai4i, recipe, SplitSpec(), spec.with_changes(epochs=1))
    x = run.fitted.transform(ai4i)
    y = run.fitted.encode_target(ai4i).astype(np.float32)
    xt, yt, xv, yv = x[run.split_train], y[run.split_train], x[run.split_valid], y[run.split_valid]
    steps = int(np.ceil(len(xt) / spec.batch_size))

    def fresh():
        keras.utils.set_random_seed(0)
        model = build_model(spec, x.shape[1], "binary", 2, seed=0, steps_per_epoch=steps)
        adapt_model(model, xt, yt, "binary")
        return model

    class Batches(keras.utils.PyDataset):
        def __init__(self, xs, ys, batch):
            super().__init__()
            self.xs, self.ys, self.batch = xs, ys, batch
            self.order = np.random.default_rng(0).permutation(len(xs))

        def __len__(self):
            return int(np.ceil(len(self.xs) / self.batch))

        def __getitem__(self, i):
            idx = self.order[i * self.batch:(i + 1) * self.batch]
            return self.xs[idx], self.ys[idx]

        def on_epoch_end(self):
            self.order = np.random.default_rng(len(self.order)).permutation(len(self.xs))

    def numpy_fit(cb):
        fresh().fit(xt, yt, validation_data=(xv, yv), epochs=epochs, batch_size=spec.batch_size, verbose=0,
                    callbacks=[cb])

    def pydataset_fit(cb):
        fresh().fit(Batches(xt, yt, spec.batch_size), validation_data=(xv, yv), epochs=epochs, verbose=0,
                    callbacks=[cb])

    # later epochs only: the first one includes tracing
    t_np = float(np.median(_epoch_times(numpy_fit)[1:]))
    t_ds = float(np.median(_epoch_times(pydataset_fit)[1:]))
    print(f"feeding: numpy arrays {t_np * 1000:.0f} ms/epoch, PyDataset {t_ds * 1000:.0f} ms/epoch, "
          f"ratio PyDataset/numpy {t_ds / t_np:.2f}")


# --------------------------------------------------------------------------------------------
# the app against a bare model.fit


def _load() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def _cycle_times(stamps: list[float]) -> np.ndarray:
    """Epoch times as the gaps between consecutive epoch ends, without the first two epochs.

    A gap covers everything between two epochs (training steps, the validation pass, every
    callback), the same on both sides. Epoch 1 traces the training and validation steps, and the
    gap after it includes the one-off tracing of the app's compiled validation predict.
    """
    return np.diff(np.asarray(stamps, dtype=np.float64))[1:]


class Comparison:
    """The Train step's training against the same training as a bare ``model.fit``, interleaved.

    Both sides train the network the Train step builds for ai4i2020 with the app's defaults
    (leak suspects unticked, the "balanced" preset, balanced class weights because failures are
    3.4 % of the rows, stratified split, seed 0) for ``epochs`` epochs:

    * app: ``TrainPanel.train()`` as the Train button does it: ``train_run`` in a QThread worker,
      its Keras callback (per-epoch updates with the validation PR-AUC that early stopping follows
      (patience is set above the number of epochs so that all of them run), best-weight copies,
      throttled per-batch loss updates, a cancel check per batch), queued signals to the GUI thread,
      live pyqtgraph curves and tiles redrawn in the offscreen window while a real Qt event loop runs
      (as under ``app.exec()``), plus a 10 ms GUI-thread timer whose longest gap is reported.
    * bare: in the main thread, no Qt work, the same compiled model (``build_model`` with the same
      spec, seed, schedule length and ``adapt_model`` on the same training rows) and the same
      ``model.fit`` arguments (``fit_arguments``: the same float32 arrays from the same fitted
      recipe and split, batch size, shuffling, class weights and epochs) plus the same validation
      rows as ``validation_data``, with one callback that only notes the time at each epoch end:
      what a script training this model with Keras alone, watching its validation loss and
      accuracy, would run. The app computes those validation numbers (and the PR-AUC) from one
      compiled predict pass in its callback instead of Keras' evaluation loop: the same numbers,
      computed more cheaply, is part of what is measured.
    * bridge (core, no Qt): ``train_run`` called directly with a JobState, to separate the cost of
      the callback from that of the GUI.
    * unvalidated (reference only): the bare fit without ``validation_data``, i.e. training alone
      with no validation numbers at all; it shows what Keras' validation pass costs the bare side
      and how close the app comes to training with no validation.

    Each round runs every side once, alternating which goes first; the ratio is taken per round
    (median epoch of one side over that of the other) and the median over rounds is reported,
    because other processes on a shared machine change the speed of both sides over minutes.
    """

    def __init__(self, epochs: int) -> None:
        import tempfile

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ.setdefault("MFG_DESKTOP_CONFIG_DIR", tempfile.mkdtemp(prefix="mfg-bench-"))
        from mfg_desktop.core.ingest import load_files
        from mfg_desktop.qt.app import create_application
        from mfg_desktop.qt.main_window import MainWindow

        self.epochs = epochs
        self.app = create_application()
        self.window = window = MainWindow()
        window.resize(1400, 900)
        window.show()
        window.session.set_data(load_files([DATA / "ai4i2020.csv"]))
        self._poll(lambda: window.session.profile is not None)
        window.data_panel.pick_target("Machine_failure")
        self._poll(lambda: window.session.target_report is not None)
        window.show_step("prepare")
        self._poll(lambda: window.session.recipe is not None)
        window.show_step("train")
        self.panel = panel = window.page("train")
        panel.apply_preset("balanced")
        panel.set_settings(epochs=epochs, patience=epochs + 1)
        self.spec = panel.network_spec()
        session = window.session
        self.frame, self.recipe, self.split_spec = session.frame, session.recipe, session.split_spec
        self.class_weight = bool(session.class_weight)
        self.seed = panel.state.settings.seed
        self.stamps: list[float] = []
        plot_partial = panel._partial

        def partial(update):
            if hasattr(update, "val_loss"):
                self.stamps.append(update.elapsed_s)  # taken in the worker at each epoch end
            plot_partial(update)

        panel._partial = partial
        # The same fitted recipe, split and class weights the Train step's run gets.
        probe = train_run(self.frame, self.recipe, self.split_spec, self.spec.with_changes(epochs=1),
                          seed=self.seed, class_weight=self.class_weight)
        x = probe.fitted.transform(self.frame)
        y = probe.fitted.encode_target(self.frame)
        self.task = probe.task
        self.n_classes = max(len(probe.classes), 2) if probe.task != "regression" else 1  # as train_run
        self.mixed_precision = probe.mixed_precision
        self.arrays = (x[probe.split_train], y[probe.split_train], x[probe.split_valid], y[probe.split_valid])
        self.class_weights = probe.class_weights
        print(f"data: {len(self.arrays[0])} training rows, {len(self.arrays[2])} validation rows, "
              f"{x.shape[1]} {x.dtype} inputs, batch {self.spec.batch_size}, class weights {self.class_weights}; "
              f"network {json.dumps(self.spec.to_dict())}")

    def _poll(self, done, limit_s: float = 600) -> None:
        deadline = time.monotonic() + limit_s
        while not done() and time.monotonic() < deadline:
            self.app.processEvents()
            time.sleep(0.002)

    def _exec_until(self, done) -> None:
        """Run a Qt event loop (as app.exec() does) until ``done()``."""
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        check = QTimer()
        check.timeout.connect(lambda: done() and loop.quit())
        check.start(50)
        if not done():
            loop.exec()
        check.stop()

    def bare(self, validation: bool = True) -> np.ndarray:
        import keras

        from mfg_desktop.core.network import adapt_model, build_model
        from mfg_desktop.core.train import fit_arguments

        xt, yt, xv, yv = self.arrays
        batch = int(max(1, min(self.spec.batch_size, len(xt))))
        keras.utils.set_random_seed(self.seed)
        model = build_model(self.spec, xt.shape[1], self.task, self.n_classes, seed=self.seed,
                            steps_per_epoch=int(np.ceil(len(xt) / batch)), mixed_precision=self.mixed_precision)
        adapt_model(model, xt, yt, self.task)
        stamps: list[float] = []

        class Clock(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                stamps.append(time.perf_counter())

        args = fit_arguments(xt, yt, self.task, epochs=self.epochs, batch_size=batch, class_weight=self.class_weights)
        if validation:
            args["validation_data"] = (xv, yv.astype(args["y"].dtype))
        model.fit(callbacks=[Clock()], **args)
        return _cycle_times(stamps)

    def unvalidated(self) -> np.ndarray:
        """The bare fit without ``validation_data``: what its validation pass costs, for reference."""
        return self.bare(validation=False)

    def bridge(self) -> np.ndarray:
        from mfg_desktop.core.jobs import JobState

        stamps: list[float] = []
        train_run(self.frame, self.recipe, self.split_spec, self.spec, seed=self.seed,
                  class_weight=self.class_weight,
                  state=JobState(on_partial_result=lambda u: hasattr(u, "val_loss") and stamps.append(u.elapsed_s)))
        return _cycle_times(stamps)

    def window_run(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Epoch times, the GUI timer's gaps (ms) and the same less CPU waits, GUI CPU per epoch."""
        from gui_timer import GuiTicks

        panel = self.panel
        self.stamps.clear()
        timer = GuiTicks()
        timer.start()
        panel.train()
        self._exec_until(lambda: len(self.stamps) >= 1 or not panel.is_training())  # TensorFlow tracing
        timer.take()
        gui_cpu = time.thread_time()
        n0 = len(self.stamps)
        self._exec_until(lambda: not panel.is_training())
        gui_cpu = (time.thread_time() - gui_cpu) / max(len(self.stamps) - n0, 1)
        timer.stop()
        gaps, own, _ = timer.take()
        return _cycle_times(self.stamps), gaps, own, gui_cpu

    def close(self) -> None:
        self.window.close()


def app_against_bare(rounds: int, epochs: int, references: bool) -> None:
    cmp = Comparison(epochs)
    print(f"load average before: {_load()}")
    sides = ["bare", "window"] + (["bridge", "unvalidated"] if references else [])
    times: dict[str, list[float]] = {side: [] for side in sides}
    ratios: dict[str, list[float]] = {side: [] for side in sides[1:]}
    all_gaps, all_own, gui_cpu = [], [], []
    for r in range(rounds):
        order = sides if r % 2 == 0 else sides[::-1]
        got: dict[str, float] = {}
        for side in order:
            if side == "window":
                cycles, gaps, own, cpu = cmp.window_run()
                all_gaps.append(gaps)
                all_own.append(own)
                gui_cpu.append(cpu)
            else:
                cycles = getattr(cmp, side)()
            got[side] = float(np.median(cycles))
            times[side] += list(cycles)
        for side, values in ratios.items():
            values.append(got[side] / got["bare"])
        print(f"round {r + 1}/{rounds} ({' -> '.join(order)}): "
              + ", ".join(f"{side} {got[side] * 1000:.0f} ms/epoch"
                          + (f" (ratio {ratios[side][-1]:.2f})" if side in ratios else "") for side in sides)
              + f"; GUI timer longest gap {all_gaps[-1].max():.0f} ms; load {_load()}", flush=True)
    gaps, own = np.concatenate(all_gaps), np.concatenate(all_own)
    epoch_ms = {side: np.median(values) * 1000 for side, values in times.items()}
    if references:
        print(f"bridge: train_run without Qt, median over rounds of the epoch-time ratio to bare model.fit "
              f"{np.median(ratios['bridge']):.2f} (epochs: bridge {epoch_ms['bridge']:.0f} ms, bare "
              f"{epoch_ms['bare']:.0f} ms)")
        print(f"unvalidated: bare model.fit without validation_data (reference only: no validation numbers) "
              f"{epoch_ms['unvalidated']:.0f} ms/epoch, ratio {np.median(ratios['unvalidated']):.2f}; the app's "
              f"window against it: {np.median(ratios['window']) / np.median(ratios['unvalidated']):.2f}")
    print(f"window: Train step with live plots, median over {rounds} rounds of the epoch-time ratio to bare "
          f"model.fit {np.median(ratios['window']):.2f} (target <= 1.10; per round "
          f"{', '.join(f'{v:.2f}' for v in ratios['window'])}; epochs: window {epoch_ms['window']:.0f} ms, "
          f"bare {epoch_ms['bare']:.0f} ms; GUI thread CPU {np.median(gui_cpu) * 1000:.0f} ms per "
          f"epoch); GUI timer during training: longest gap {gaps.max():.1f} ms, 99th percentile "
          f"{np.percentile(gaps, 99):.1f} ms; less the GUI thread's CPU waits: longest {own.max():.1f} ms, "
          f"99th percentile {np.percentile(own, 99):.1f} ms (target <= 50 ms); load average after: {_load()}")
    cmp.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--derived", action="store_true", help="add power, dT and wear x torque to ai4i2020")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--only", choices=("ai4i", "steel"), help="quality on one dataset only")
    parser.add_argument("--skip-feeding", action="store_true")
    parser.add_argument("--skip-app", action="store_true", help="skip the app against bare model.fit")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of app and bare training")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per training in those rounds")
    parser.add_argument("--no-bridge", action="store_true",
                        help="leave out the references: train_run without Qt, bare model.fit without validation")
    args = parser.parse_args()
    from mfg_desktop.core.train import describe_device

    print(f"device: {describe_device()}")
    if not args.skip_quality:
        quality(args.seeds, args.derived, args.only)
    if not args.skip_feeding:
        feeding()
    if not args.skip_app:
        app_against_bare(args.rounds, args.epochs, references=not args.no_bridge)


if __name__ == "__main__":
    main()
