"""Cluster benchmarks: search and batch scoring on this PC against a local 2-worker Ray cluster.

Run: ``python tests/benchmarks/bench_cluster.py [--trials 8] [--epochs 3] [--rows 2000] [--files 20]``
(needs the cluster extra). It starts its own Ray head on 127.0.0.1 with token authentication and
2 CPUs (``ray start --head --num-cpus 2``), and stops it at the end. Prints, side by side:

1. ``--search N`` on this PC, one trial after another (no Ray), against Ray Tune + ASHA on the
   cluster (one CPU a trial, so 2 at a time); the wall-time ratio.
2. ``predict`` of N files of 500 rows: ``score_files`` on this PC against
   ``score_files_on_cluster`` (one task a file); the ratio, and whether the outputs are identical.
   A second cluster run shows the cost once the workers are up (TensorFlow imported, model loaded).
3. One training on this PC, on one cluster worker, and data-parallel on 2 Ray Train workers
   (``--workers 2``: TensorflowTrainer; wall time, and the time inside ``train_run`` on worker 0).
4. Ray's overhead: the round trip of an empty task, the mean of 200 empty tasks in flight, the
   connect (probe + ``ray.init`` with the app's package as ``py_modules``), and a remote training's
   first-task cost (worker start and TensorFlow import on the worker).

On one PC with 2 cores the cluster cannot be faster than the PC by more than 2x; what this
measures is what Ray costs on top of the work, which is what scales down when the same work is
spread over real nodes (README "Ray cluster" and docs/cluster.md).
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_head(root: Path) -> tuple[str, Path, dict[str, str]]:
    token_file = root / "token"
    token_file.write_text(secrets.token_hex(32))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_file), RAY_USAGE_STATS_ENABLED="0")
    subprocess.run(["ray", "start", "--head", "--num-cpus", "2", "--node-ip-address", "127.0.0.1", "--port",
                    str(port), "--ray-client-server-port", str(free_port()), "--temp-dir", str(root / "ray"),
                    "--include-dashboard", "false", "--disable-usage-stats"],
                   env=env, check=True, capture_output=True, timeout=180)
    return f"127.0.0.1:{port}", token_file, env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--only-train", action="store_true", help="only the training rows (no search, no predict)")
    args = parser.parse_args()

    import pandas as pd

    from mfg_desktop.core import cluster
    from mfg_desktop.core.bundle import load_model_file, save_model_file
    from mfg_desktop.core.network import preset
    from mfg_desktop.core.parallel import train_on_workers
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.score import score_files
    from mfg_desktop.core.search import search_run
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import train_run

    cluster.require_ray()
    data = pd.read_csv(ROOT / "tests" / "data" / "ai4i2020.csv", encoding="utf-8-sig")
    frame = data.iloc[:args.rows].reset_index(drop=True)
    recipe = propose_recipe(frame, "Machine_failure", exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    spec = preset("fast").with_changes(epochs=args.epochs)
    split = SplitSpec(seed=0)
    root = Path(tempfile.mkdtemp(prefix="mfgbench", dir="/tmp"))
    address, token_file, env = start_head(root)
    rows: list[tuple[str, str, str, str]] = []
    try:
        settings = cluster.ClusterSettings(address, token_file=str(token_file))
        if not args.only_train:
            t = time.perf_counter()
            local_search = search_run(frame, recipe, split, spec, n_trials=args.trials, seed=0)
            t_local_search = time.perf_counter() - t

        t = time.perf_counter()
        session = cluster.connect(settings).__enter__()
        t_connect = time.perf_counter() - t
        try:
            import ray

            @ray.remote(num_cpus=1)  # at most 2 at once: the same 2 worker processes serve them all
            def empty() -> None:
                return None

            ray.get(empty.remote())  # a worker is up
            t = time.perf_counter()
            for _ in range(20):
                ray.get(empty.remote())
            t_round_trip = (time.perf_counter() - t) / 20
            t = time.perf_counter()
            ray.get([empty.remote() for _ in range(200)])
            t_in_flight = (time.perf_counter() - t) / 200

            t = time.perf_counter()
            remote_run = cluster.train_on_cluster(session, frame, recipe, split, spec, seed=0, model_choice="network")
            t_remote_train = time.perf_counter() - t
            t = time.perf_counter()
            parallel_run = train_on_workers(session, frame, recipe, split, spec, 2, seed=0, model_choice="network")
            t_parallel_train = time.perf_counter() - t
            t = time.perf_counter()
            local_run = train_run(frame, recipe, split, spec, seed=0, model_choice="network")
            t_local_train = time.perf_counter() - t
            trainings = [
                (f"one training, {args.epochs} epochs (network)", f"{t_local_train:.1f} s", f"{t_remote_train:.1f} s",
                 f"{t_remote_train / t_local_train:.2f}"),
                ("  inside train_run", f"{local_run.duration_s:.1f} s", f"{remote_run.duration_s:.1f} s", ""),
                ("  data-parallel, 2 Ray Train workers", "", f"{t_parallel_train:.1f} s",
                 f"{t_parallel_train / t_local_train:.2f}"),
                ("  inside train_run (worker 0)", "", f"{parallel_run.duration_s:.1f} s", ""),
                ("  val_loss (last epoch)", f"{local_run.history['val_loss'][-1]:.4f}",
                 f"{parallel_run.history['val_loss'][-1]:.4f} (2 workers)", ""),
            ]
            if args.only_train:
                for r in trainings:
                    print(f"{r[0]:38} {r[1]:>26} {r[2]:>26} {r[3]:>7}")
                return 0

            t = time.perf_counter()
            remote_search = search_run(frame, recipe, split, spec, n_trials=args.trials, seed=0, session=session)
            t_remote_search = time.perf_counter() - t

            folder = root / "batches"
            folder.mkdir()
            for i in range(args.files):
                data.iloc[(i * 500) % 9500:(i * 500) % 9500 + 500].to_csv(folder / f"batch_{i:02d}.csv", index=False)
            model = load_model_file(save_model_file(local_run, root / "m.mfgmodel"))
            t = time.perf_counter()
            score_files(model, [folder], root / "out_local")
            t_local_score = time.perf_counter() - t
            t = time.perf_counter()
            cluster.score_files_on_cluster(session, model, [folder], root / "out_cluster")
            t_remote_score = time.perf_counter() - t
            # again: the workers are up, TensorFlow imported and the model loaded in them
            t = time.perf_counter()
            cluster.score_files_on_cluster(session, model, [folder], root / "out_cluster_warm")
            t_remote_score_warm = time.perf_counter() - t
            identical = all((root / "out_local" / f.name).read_bytes() == f.read_bytes()
                            for f in (root / "out_cluster").glob("*_scored.csv"))
        finally:
            session.__exit__(None, None, None)
    finally:
        subprocess.run(["ray", "stop", "--force"], env=env, capture_output=True, timeout=120, check=False)

    def best(run) -> str:
        t = next(x for x in run.search if x["best"])
        return f"best trial {t['number']}, {t['score_name']} {t['score']:.4f}"

    rows += [
        (f"search {args.trials} x {args.epochs} epochs ({args.rows} rows)", f"{t_local_search:.1f} s",
         f"{t_remote_search:.1f} s", f"{t_remote_search / t_local_search:.2f}"),
        ("", best(local_search), best(remote_search), ""),
        (f"predict {args.files} files x 500 rows", f"{t_local_score:.1f} s", f"{t_remote_score:.1f} s",
         f"{t_remote_score / t_local_score:.2f}"),
        ("  again, workers warm", "", f"{t_remote_score_warm:.1f} s", f"{t_remote_score_warm / t_local_score:.2f}"),
        ("", "", "outputs identical" if identical else "OUTPUTS DIFFER", ""),
        *trainings,
    ]
    print(f"{'':38} {'this PC':>26} {'2-worker cluster':>26} {'ratio':>7}")
    for r in rows:
        print(f"{r[0]:38} {r[1]:>26} {r[2]:>26} {r[3]:>7}")
    print(f"Ray overhead: connect (probe + ray.init, package upload) {t_connect:.2f} s; empty task round trip "
          f"{t_round_trip * 1000:.1f} ms; empty tasks in flight {t_in_flight * 1000:.2f} ms each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
