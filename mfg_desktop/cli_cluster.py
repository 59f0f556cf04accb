"""The command line's cluster parts: ``mfg-desktop cluster check`` and the ``--cluster`` options of
``train`` and ``predict`` (kept here so that ``cli.py`` only registers them and makes one call).

Nothing here imports Ray at module level; a command that needs it without the extra installed
says "install the cluster extra: pip install 'mfg-desktop[cluster]'" and exits 2 (an MfgError).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mfg_desktop.core.i18n import tr


def add_cluster_options(parser: argparse.ArgumentParser, workers: bool = False) -> None:
    """--cluster ADDRESS, --token-file FILE, --insecure-cluster (and --workers N for ``train``)."""
    from mfg_desktop.core.i18n import tr

    if workers:
        parser.add_argument("--workers", type=int, default=1, metavar="N",
                            help=tr("with --cluster: data-parallel training over N Ray Train workers (default 1: "
                                    "the whole training on one worker)"))
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help=tr("run on a Ray cluster: HOST:PORT (what `ray start --head` printed) or "
                                "ray://HOST:PORT (needs the cluster extra; docs/cluster.md)"))
    parser.add_argument("--token-file", metavar="FILE",
                        help=tr("the cluster's token file (default: as Ray finds it: RAY_AUTH_TOKEN, "
                                "RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)"))
    parser.add_argument("--insecure-cluster", action="store_true",
                        help=tr("accept a cluster that runs without token authentication (anyone on its "
                                "network could run code on it)"))


def add_cluster_parser(sub: argparse._SubParsersAction) -> None:
    cluster = sub.add_parser("cluster", help=tr("check the connection to a Ray cluster"),
                             description=tr("Connect to a Ray cluster and print its nodes, CPUs, GPUs and Ray "
                                            "version, or the reason it cannot be used."))
    actions = cluster.add_subparsers(dest="cluster_command", required=True)
    check = actions.add_parser("check", help=tr("connect and describe the cluster"))
    check.add_argument("address", metavar="ADDRESS", help=tr("HOST:PORT or ray://HOST:PORT"))
    check.add_argument("--token-file", metavar="FILE", help=tr("the cluster's token file (default: as Ray finds it)"))
    check.add_argument("--insecure-cluster", action="store_true",
                       help=tr("accept a cluster without token authentication"))
    check.set_defaults(func=cmd_cluster_check)


def settings_from(args: argparse.Namespace, address: str | None = None) -> Any:
    from mfg_desktop.core.cluster import ClusterSettings, require_ray

    require_ray()
    return ClusterSettings(address=address or args.cluster, token_file=args.token_file,
                           insecure=bool(args.insecure_cluster))


def cmd_cluster_check(args: argparse.Namespace) -> int:
    from mfg_desktop.core.cluster import check_cluster

    info = check_cluster(settings_from(args, args.address))
    for line in info.lines():
        print(line)
    return 1 if info.problems else 0


def train(args: argparse.Namespace, df: Any, recipe: Any, split: Any, spec: Any, class_weight: Any,
          state: Any, printer: Callable[[Any], None], options: dict[str, Any]) -> Any:
    """The run of `train` with --cluster and/or --search; None when neither was asked for.

    ``options`` are train_run's model choice, tree settings and costs (a search tries networks only)."""
    search = getattr(args, "search", None)
    workers = getattr(args, "workers", 1)
    if workers < 1 or (workers > 1 and (not args.cluster or search)):
        from mfg_desktop.core.errors import MfgError

        raise MfgError(tr("--workers must be at least 1, and more than 1 only with --cluster and without --search "
                          "(a search already runs its trials in parallel)."))
    if not args.cluster and not search:
        return None
    from mfg_desktop.core import search as sr

    if search is not None and search < 1:
        from mfg_desktop.core.errors import MfgError

        raise MfgError(tr("--search must be at least 1."))
    session = None
    if args.cluster:
        from mfg_desktop.core.cluster import connect

        session = connect(settings_from(args))
    if not search:
        from mfg_desktop.core.parallel import train_on_workers

        with session:
            print(tr("training on the cluster ({rows:,} rows sent once)", rows=len(df)), flush=True)
            return train_on_workers(session, df, recipe, split, spec, workers, seed=args.seed,
                                    class_weight=class_weight, state=state, data_files=args.files, printer=printer,
                                    **options)

    def show(trial: Any) -> None:
        print(trial.line(), flush=True)

    with session if session is not None else _nothing():
        print(tr("search: {n} configurations with Ray Tune (ASHA) on the cluster", n=search) if session is not None
              else tr("search: {n} configurations one after another on this PC", n=search), flush=True)
        run = sr.search_run(df, recipe, split, spec, n_trials=search, seed=args.seed, class_weight=class_weight,
                            state=state, data_files=args.files, on_trial=show, session=session)
    best = next(t for t in run.search if t["best"])
    print(tr("best: trial {number} ({metric} {score:.4f} on the validation rows)", number=best["number"],
             metric=best["score_name"], score=best["score"]))
    return run


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def score(args: argparse.Namespace, model: Any, inputs: Sequence[str | Path], out: str, state: Any,
          options: Any) -> list[Any]:
    from mfg_desktop.core.cluster import connect, score_files_on_cluster

    with connect(settings_from(args)) as session:
        return score_files_on_cluster(session, model, inputs, out, state=state, options=options)
