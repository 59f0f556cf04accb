"""Network (default preset) against HistGradientBoosting and the trivial baseline, same splits.

Everything goes through the app's own path: leak suspects from ``analyze_target`` left out, the
proposed recipe, ``train_run`` with the default preset and split (random, stratified 70/15/15),
then ``evaluate_run``, which trains both baselines on the same training rows and recipe features
and scores all three on the same held-out test rows. Several seeds (split and training seed).

    python tests/benchmarks/bench_models.py [--seeds 3] [--datasets ai4i,steel] [--preset balanced]

Prints PR-AUC, ROC-AUC, accuracy and balanced accuracy, mean ± standard deviation over seeds, and
the time permutation importance takes with one thread against several (measured side by side).
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

from mfg_desktop.core.evaluate import HGB, TRIVIAL, evaluate_run
from mfg_desktop.core.explain import permutation_importance
from mfg_desktop.core.ingest import load_files
from mfg_desktop.core.network import DEFAULT_PRESET, preset
from mfg_desktop.core.profile import analyze_target
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

DATA = ROOT / "tests" / "data"
DATASETS = {
    "ai4i": (DATA / "ai4i2020.csv", "Machine_failure"),
    "steel": (DATA / "SteelPlatesFaults_Clean.csv",
              "Pastry_Fault+Z_Scratch_Fault+K_Scatch_Fault+Stains_Fault+Dirtiness_Fault+Bumps_Fault+Other_Faults"),
}
METRICS = ("pr_auc", "roc_auc", "accuracy", "balanced_accuracy")
MODELS = ("network", HGB, TRIVIAL)


def run_dataset(name: str, seeds: int, preset_name: str) -> tuple[dict, object, object]:
    path, target = DATASETS[name]
    df = load_files([path]).frame
    report = analyze_target(df, target)
    leaks = {s.column: s.reason for s in report.leak_suspects}
    recipe = propose_recipe(df, target, leak_suspects=leaks)
    print(f"\n{name}: {len(df):,} rows, target {report.task}; left out as leaks/ids: {', '.join(leaks) or 'none'}")
    print(f"inputs: {', '.join(recipe.inputs)}")
    scores: dict[str, dict[str, list[float]]] = {m: {k: [] for k in METRICS} for m in MODELS}
    last = None
    for seed in range(seeds):
        t0 = time.perf_counter()
        run = train_run(df, recipe, SplitSpec(seed=seed), preset(preset_name), seed=seed)
        train_s = time.perf_counter() - t0
        ev = evaluate_run(run, df, importance=False)
        for model in MODELS:
            metrics = ev.metrics if model == "network" else ev.baselines[model]
            for k in METRICS:
                scores[model][k].append(metrics[k])
        print(f"  seed {seed}: {run.epochs_run} epochs (best {run.best_epoch}) in {train_s:.0f} s on {run.device}; "
              f"network PR-AUC {ev.metrics['pr_auc']:.3f} / HGB {ev.baselines[HGB]['pr_auc']:.3f}, "
              f"accuracy {ev.metrics['accuracy']:.3f} / {ev.baselines[HGB]['accuracy']:.3f}", flush=True)
        last = (run, ev)
    return scores, last[0], df


def print_table(name: str, scores: dict, seeds: int) -> None:
    print(f"\n{name} — test rows, mean ± std over {seeds} seed(s)")
    header = f"{'model':<22}" + "".join(f"{k:>22}" for k in METRICS)
    print(header)
    print("-" * len(header))
    for model in MODELS:
        cells = []
        for k in METRICS:
            v = np.asarray(scores[model][k], dtype=float)
            cells.append(f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}".rjust(22))
        print(f"{model:<22}" + "".join(cells))
    net, hgb = scores["network"], scores[HGB]
    print("network − HGB: " + ", ".join(f"{k} {np.nanmean(net[k]) - np.nanmean(hgb[k]):+.3f}" for k in METRICS))


def importance_threads(run, df) -> None:
    """Permutation importance with one thread against several, on the same run and rows."""
    test = df.iloc[run.split_test]
    y = run.fitted.encode_target(test)
    cores = max(2, min(4, os.cpu_count() or 1))
    times = {}
    for jobs in (1, cores, 1, cores):
        t0 = time.perf_counter()
        permutation_importance(run, test, y, n_jobs=jobs)
        times.setdefault(jobs, []).append(time.perf_counter() - t0)
    one, many = min(times[1]), min(times[cores])
    print(f"\npermutation importance ({len(test):,} rows, 5 repeats): 1 thread {one:.2f} s, "
          f"{cores} threads {many:.2f} s, speed-up {one / many:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="ai4i,steel")
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    args = parser.parse_args()
    results = {}
    for name in args.datasets.split(","):
        scores, run, df = run_dataset(name, args.seeds, args.preset)
        results[name] = scores
        if name == "ai4i":
            importance_threads(run, df)
    for name, scores in results.items():
        print_table(name, scores, args.seeds)


if __name__ == "__main__":
    main()
