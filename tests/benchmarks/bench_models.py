"""Auto (network + LightGBM, the better on the validation rows) against the network alone, LightGBM
alone, HistGradientBoosting defaults and the trivial baseline, all on the app's own test rows.

Everything goes through the app's own path: leak suspects from ``analyze_target`` left out, the
proposed recipe, ``train_run`` with the preset and split (random, stratified 70/15/15), then
``evaluate_run``, which trains the baselines on the same training rows and recipe features and
scores every model on the same held-out test rows. Several seeds (split and training seed).

* Auto: ``train_run(model_choice="auto")``; its LightGBM candidate is "LightGBM alone" (trees are
  deterministic, so a trees-only run of the same seed is the same model).
* network alone: ``train_run(model_choice="network")``, trained separately so that its training
  time is measured beside Auto's (target: Auto <= 2x the network alone).
* ai4i2020 is trained with costs 20 : 1 (missed failure : false alarm); the expected cost on the
  test rows at the chosen threshold is printed beside the cost at 0.5.

    python tests/benchmarks/bench_models.py [--seeds 3] [--datasets ai4i,steel] [--preset balanced]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from mfg_desktop.core.decisions import format_threshold
from mfg_desktop.core.evaluate import HGB, TRIVIAL, evaluate_run
from mfg_desktop.core.ingest import load_files
from mfg_desktop.core.network import DEFAULT_PRESET, preset
from mfg_desktop.core.profile import analyze_target
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run
from mfg_desktop.core.trees import tree_preset

DATA = ROOT / "tests" / "data"
DATASETS = {
    "ai4i": (DATA / "ai4i2020.csv", "Machine_failure"),
    "steel": (DATA / "SteelPlatesFaults_Clean.csv",
              "Pastry_Fault+Z_Scratch_Fault+K_Scatch_Fault+Stains_Fault+Dirtiness_Fault+Bumps_Fault+Other_Faults"),
}
COSTS = {"ai4i": (20.0, 1.0)}  # (missed failure, false alarm)
METRICS = ("pr_auc", "roc_auc", "accuracy", "balanced_accuracy")
MODELS = ("Auto", "network alone", "LightGBM alone", HGB, TRIVIAL)


def run_dataset(name: str, seeds: int, preset_name: str) -> dict:
    path, target = DATASETS[name]
    df = load_files([path]).frame
    report = analyze_target(df, target)
    leaks = {s.column: s.reason for s in report.leak_suspects}
    recipe = propose_recipe(df, target, leak_suspects=leaks)
    cost_fn, cost_fp = COSTS.get(name, (None, None))
    print(f"\n{name}: {len(df):,} rows, target {report.task}; left out as leaks/ids: {', '.join(leaks) or 'none'}")
    print(f"inputs: {', '.join(recipe.inputs)}")
    scores: dict[str, dict[str, list[float]]] = {m: {k: [] for k in METRICS} for m in MODELS}
    times: dict[str, list[float]] = {"auto": [], "network": [], "trees": []}
    costs: list[tuple[float, float, float]] = []
    chosen: list[str] = []
    paired: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per seed: test y, Auto's and HGB's outputs
    # one-time costs (TensorFlow's start, LightGBM's import) paid before anything is timed
    train_run(df.iloc[:400], recipe, SplitSpec(seed=99), preset("fast").with_changes(epochs=1),
              model_choice="auto", tree_spec=tree_preset("fast"))
    for seed in range(seeds):
        split = SplitSpec(seed=seed)

        # alternate which goes first, so neither side always meets the other's leftovers
        trained = {}
        for kind in (("auto", "network") if seed % 2 == 0 else ("network", "auto")):
            t0 = time.perf_counter()
            trained[kind] = train_run(df, recipe, split, preset(preset_name), seed=seed, model_choice=kind,
                                      tree_spec=tree_preset(preset_name), cost_fn=cost_fn, cost_fp=cost_fp)
            times[kind].append(time.perf_counter() - t0)
        auto, alone = trained["auto"], trained["network"]
        times["trees"].append(auto.candidates["trees"].seconds)
        ev = evaluate_run(auto, df, importance=False)
        ev_net = evaluate_run(alone, df, importance=False, baselines=False)
        assert np.array_equal(ev.rows, ev_net.rows)  # the same test rows
        per_model = {"Auto": ev.metrics, "network alone": ev_net.metrics,
                     "LightGBM alone": ev.models["trees"]["metrics"], HGB: ev.baselines[HGB],
                     TRIVIAL: ev.baselines[TRIVIAL]}
        for model, metrics in per_model.items():
            for k in METRICS:
                scores[model][k].append(metrics.get(k, np.nan))
        chosen.append(auto.chosen)
        main = "pr_auc" if auto.task == "binary" else "accuracy"
        paired.append((ev.y, ev.outputs, ev.baseline_outputs[HGB]))
        line = (f"  seed {seed}: Auto chose {auto.chosen} ({auto.choice_reason}); test {main}: Auto "
                f"{ev.metrics[main]:.3f}, network alone {ev_net.metrics[main]:.3f}, LightGBM "
                f"{ev.models['trees']['metrics'][main]:.3f}, HGB {ev.baselines[HGB][main]:.3f}; "
                f"train {times['auto'][-1]:.0f} s Auto vs {times['network'][-1]:.0f} s network alone "
                f"({alone.epochs_run} epochs)")
        if cost_fn is not None:
            entry = ev.models[auto.chosen]
            costs.append((entry["threshold"], entry["cost"], entry["cost_at_0.5"]))
            line += (f"; expected cost on the test rows at {format_threshold(entry['threshold'])}: "
                     f"{entry['cost']:.0f}, at 0.500: {entry['cost_at_0.5']:.0f}")
        print(line, flush=True)
    return {"scores": scores, "times": times, "costs": costs, "chosen": chosen, "main": main, "paired": paired}


def paired_interval(paired: list, main: str, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % interval of (Auto − HGB), mean over seeds, when each seed's test rows are drawn again with
    replacement (the same rows for both models): how far apart the two are beyond test-row noise."""
    from mfg_desktop.core.explain import score_outputs

    task = "binary" if main == "pr_auc" else "multiclass"
    rng = np.random.default_rng(seed)
    diffs = np.zeros(resamples)
    for y, auto, hgb in paired:
        for r in range(resamples):
            rows = rng.integers(0, len(y), len(y))
            if main == "accuracy":
                diffs[r] += np.mean(auto[rows].argmax(1) == y[rows]) - np.mean(hgb[rows].argmax(1) == y[rows])
            else:
                diffs[r] += score_outputs(task, y[rows], auto[rows]) - score_outputs(task, y[rows], hgb[rows])
    low, high = np.quantile(diffs / len(paired), [0.025, 0.975])
    return float(low), float(high)


def print_table(name: str, result: dict, seeds: int) -> None:
    scores = result["scores"]
    print(f"\n{name} — test rows, mean ± std over {seeds} seed(s)")
    header = f"{'model':<22}" + "".join(f"{k:>22}" for k in METRICS)
    print(header)
    print("-" * len(header))
    for model in MODELS:
        cells = []
        for k in METRICS:
            v = np.asarray(scores[model][k], dtype=float)
            cells.append(f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}".rjust(22) if np.isfinite(v).any()
                         else "—".rjust(22))
        print(f"{model:<22}" + "".join(cells))
    main = result["main"]
    hgb = np.nanmean(scores[HGB][main])
    for model in ("Auto", "network alone", "LightGBM alone"):
        print(f"{model} − HGB ({main}): {np.nanmean(scores[model][main]) - hgb:+.3f}")
    low, high = paired_interval(result["paired"], main)
    print(f"Auto − HGB, 95 % interval over resampled test rows (paired, mean of the seeds): [{low:+.3f}, {high:+.3f}]")
    t = result["times"]
    ratio = np.mean(t["auto"]) / np.mean(t["network"])
    print(f"training time: Auto {np.mean(t['auto']):.1f} s, network alone {np.mean(t['network']):.1f} s "
          f"(Auto / network {ratio:.2f}x; target <= 2x), of which LightGBM {np.mean(t['trees']):.1f} s")
    print(f"Auto chose: {', '.join(result['chosen'])}")
    if result["costs"]:
        for seed, (threshold, at_t, at_half) in enumerate(result["costs"]):
            print(f"  seed {seed}: expected cost (20 per missed failure, 1 per false alarm) on the test rows "
                  f"at the chosen threshold {format_threshold(threshold)}: {at_t:.0f}; at 0.500: {at_half:.0f} "
                  f"({at_t / at_half:.2f}x)")


def importance_threads(name: str, preset_name: str) -> None:
    """Permutation importance with one thread against several, on the same run and rows."""
    from mfg_desktop.core.explain import permutation_importance

    path, target = DATASETS[name]
    df = load_files([path]).frame
    leaks = {s.column: s.reason for s in analyze_target(df, target).leak_suspects}
    run = train_run(df, propose_recipe(df, target, leak_suspects=leaks), SplitSpec(), preset(preset_name))
    test = df.iloc[run.split_test]
    y = run.fitted.encode_target(test)
    cores = max(2, min(4, os.cpu_count() or 1))
    times: dict[int, list[float]] = {}
    for jobs in (1, cores, 1, cores):
        t0 = time.perf_counter()
        permutation_importance(run, test, y, n_jobs=jobs)
        times.setdefault(jobs, []).append(time.perf_counter() - t0)
    one, many = min(times[1]), min(times[cores])
    print(f"\npermutation importance ({len(test):,} rows, 5 repeats, {run.chosen}): 1 thread {one:.2f} s, "
          f"{cores} threads {many:.2f} s, speed-up {one / many:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="ai4i,steel")
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    parser.add_argument("--no-importance", action="store_true",
                        help="skip timing permutation importance with one thread against several")
    args = parser.parse_args()
    results = {name: run_dataset(name, args.seeds, args.preset) for name in args.datasets.split(",")}
    if not args.no_importance and "ai4i" in results:
        importance_threads("ai4i", args.preset)
    for name, result in results.items():
        print_table(name, result, args.seeds)


if __name__ == "__main__":
    main()
