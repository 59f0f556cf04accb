"""Command line: `mfg-desktop [FILE...]` opens the window; subcommands run headless over core.

Each subcommand lives in its own ``_cmd_*`` function registered in ``_build_parser``.
Expected problems (:class:`MfgError`) go to stderr as one clear line with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import signal
import sys
import threading
import types
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mfg_desktop import __version__, cli_cluster
from mfg_desktop.core.errors import Cancelled, MfgError
from mfg_desktop.core.i18n import N_, tr, trn

if TYPE_CHECKING:  # pandas loads only when a command runs
    from mfg_desktop.core.ingest import ReadOptions
    from mfg_desktop.core.profile import DataProfile, TargetReport

SUBCOMMANDS = ("profile", "train", "predict", "evaluate", "report", "cluster")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfg-desktop",
        description=tr("Offline machine-learning workbench for factory data. "
                       "Without a subcommand it opens the window."),
    )
    parser.add_argument("--version", action="version", version=f"mfg-desktop {__version__}")
    _add_verbose_option(parser)
    sub = parser.add_subparsers(dest="command")

    profile = sub.add_parser("profile", help=tr("data-quality profile of one or more files"))
    profile.add_argument("files", nargs="+", metavar="FILE")
    profile.add_argument("--target", help=tr("target column (or one-hot columns joined with '+')"))
    profile.add_argument("--json", action="store_true", help=tr("print machine-readable JSON"))
    _add_read_options(profile)
    profile.set_defaults(func=_cmd_profile)
    _add_train_parser(sub)
    _add_predict_parser(sub)
    _add_evaluate_parser(sub)
    _add_report_parser(sub)
    cli_cluster.add_cluster_parser(sub)
    return parser


VERBOSE_FLAG = "--verbose"


def _add_verbose_option(parser: argparse.ArgumentParser) -> None:
    # main() takes the flag out of argv wherever it stands; declared here for --help only.
    parser.add_argument(VERBOSE_FLAG, action="store_true",
                        help=tr("also show the libraries' own messages (TensorFlow, Qt) on stderr"))


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    """The reading overrides every command that reads data files accepts."""
    _add_verbose_option(parser)
    parser.add_argument("--encoding", help=tr("override the detected encoding of the data files"))
    parser.add_argument("--delimiter", help=tr("override the detected delimiter of the data files"))
    parser.add_argument("--sheet", help=tr("Excel sheet name or index"))


def _read_options(args: argparse.Namespace) -> ReadOptions:

    from mfg_desktop.core import ingest

    return ingest.ReadOptions(encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet)


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mfg-desktop", description=tr("Open the mfg_desktop window."))
    parser.add_argument("files", nargs="*", metavar="FILE", help=tr("data files to open"))
    parser.add_argument("--demo", action="store_true", help=tr("open the bundled sample data"))
    parser.add_argument("--self-test", action="store_true",
                        help=tr("open the window (offscreen without a display), load the sample, train 2 epochs, "
                                "evaluate, score, write a PDF report to a temporary folder; print one line, exit 0 "
                                "if all worked"))
    parser.add_argument("--version", action="version", version=f"mfg-desktop {__version__}")
    _add_verbose_option(parser)
    return parser


def _cmd_profile(args: argparse.Namespace) -> int:
    # pandas and core load here, not at import, so that the window's cold start stays quick
    import json

    from mfg_desktop.core.ingest import load_files
    from mfg_desktop.core.jobs import JobState
    from mfg_desktop.core.profile import analyze_target, profile_frame

    state = JobState(on_progress=_progress_printer()) if sys.stderr.isatty() else None
    # ingest resolves delimiter words (tab, space, ...) and whether a sheet is a name or an index
    options = _read_options(args)
    loaded = load_files(args.files, options, state=state)
    profile = profile_frame(loaded.frame, state=state)
    report = analyze_target(loaded.frame, args.target, profile, state=state) if args.target else None
    if state is not None:
        print(file=sys.stderr)
    files = [_file_settings(f) for f in loaded.files]
    if args.json:
        out = profile.to_dict()
        out.update({
            "encoding": files[0]["encoding"] if files else None,
            "delimiter": files[0]["delimiter"] if files else None,
            "files": files,
            "load_notes": loaded.notes,
        })
        if report is not None:
            target = report.to_dict()
            out.update({
                "target": report.target,
                "target_columns": report.columns,
                "task": report.task,
                "class_counts": report.class_counts,
                "minority_share": target["minority_share"],
                "leak_suspects": [s.column for s in report.leak_suspects],
                "leak_reasons": {s.column: s.reason for s in report.leak_suspects},
                "target_warnings": report.warnings,
            })
        print(json.dumps(out, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        print(_profile_text(profile, report, files))
        if loaded.notes:  # what the reading could not take as written
            print("\n" + tr("reading notes:") + "\n" + "\n".join(f"  ! {note}" for note in loaded.notes))
    return 0


def _progress_printer() -> Callable[[float, str], None]:
    def show(fraction: float, message: str) -> None:
        print(f"\r{fraction * 100:5.1f} % {message[:60]:<60}", end="", file=sys.stderr, flush=True)

    return show


def _file_settings(settings: object) -> dict:
    return {
        name: (str(getattr(settings, name)) if name == "path" else getattr(settings, name, None))
        for name in ("path", "kind", "encoding", "delimiter", "decimal", "thousands", "header", "sheet")
    }


# the core's column kinds as the profile table names them (the words stay English in English output)
COLUMN_KINDS = {"numeric": N_("numeric"), "integer": N_("integer"), "boolean": N_("boolean"),
                "categorical": N_("categorical"), "text": N_("text"), "datetime": N_("datetime")}
# the task words the profile and evaluation print
N_("binary"), N_("multiclass"), N_("regression")


def _width(text: str) -> int:
    """Columns a terminal gives ``text``: Chinese characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _aligned(rows: list[list[str]], right: set[int]) -> list[str]:
    """``rows`` (the first is the header) as a table aligned for a terminal, with a rule under the header."""
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]

    def pad(v: str, i: int) -> str:
        space = " " * (widths[i] - _width(v))
        return space + v if i in right else v + space

    return ["  ".join(pad(v, i) for i, v in enumerate(r)).rstrip()
            for r in [rows[0], ["-" * w for w in widths], *rows[1:]]]


def _profile_text(profile: DataProfile, report: TargetReport | None, files: list[dict]) -> str:
    """The profile as a plain-text report for a terminal."""
    def human_bytes(n: int) -> str:
        for unit in ("B", "KiB", "MiB", "GiB"):
            if n < 1024 or unit == "GiB":
                return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
            n /= 1024
        return str(n)

    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() and abs(value) < 1e12 else f"{value:.4g}"
        text = str(value)
        return text if len(text) <= 19 else text[:10] + "…"  # ISO timestamps: date only

    lines = []
    for f in files:
        delimiter = {"\t": tr("tab"), " ": tr("space")}.get(f["delimiter"], f["delimiter"])
        extra = tr(", sheet {sheet}", sheet=f["sheet"]) if f.get("sheet") not in (None, "") else ""
        lines.append(tr("file: {path}  (encoding {encoding}, delimiter {delimiter!r}, decimal {decimal!r}{sheet})",
                        path=f["path"], encoding=f["encoding"], delimiter=delimiter, decimal=f["decimal"],
                        sheet=extra))
    lines.append(tr("rows: {rows}   columns: {columns}   duplicate rows: {duplicates}   memory: {memory}",
                    rows=profile.rows, columns=profile.n_columns, duplicates=profile.duplicate_rows,
                    memory=human_bytes(profile.memory_bytes)))
    lines.append("")
    header = [tr("column"), tr("kind"), tr("missing"), tr("distinct"), tr("min"), tr("mean"), tr("max"),
              tr("outliers"), tr("notes")]
    rows = []
    for c in profile.columns:
        notes = [n for flag, n in ((c.constant, tr("constant")), (c.near_constant, tr("near-constant")),
                                   (c.identifier_like, tr("id-like"))) if flag]
        name = c.name if len(c.name) <= 30 else c.name[:29] + "…"
        missing = f"{c.missing} ({c.missing_share * 100:.1f}%)" if c.missing else "0"
        rows.append([name, tr(COLUMN_KINDS.get(c.kind, c.kind)), missing, str(c.distinct), cell(c.min),
                     cell(c.mean), cell(c.max),
                     str(c.outliers) if c.outliers else "", ", ".join(notes)])
    lines += _aligned([header, *rows], right={2, 3, 4, 5, 6, 7})
    warnings = [f"{c.name}: {w}" for c in profile.columns for w in c.warnings] + profile.warnings
    if warnings:
        lines += ["", tr("warnings:")] + [f"  - {w}" for w in warnings]
    if profile.onehot_groups:
        lines += ["", tr("one-hot groups (usable as one multiclass target with --target A+B+C):")]
        lines += [f"  - {'+'.join(g)}" for g in profile.onehot_groups]
    if report is not None:
        lines += ["", tr("target: {target}", target=report.target), tr("task: {task}", task=tr(report.task))]
        if report.class_counts:
            total = sum(report.class_counts.values())
            lines.append(tr("classes: {classes}", classes=", ".join(
                f"{k} {v} ({v / total * 100:.1f}%)" for k, v in report.class_counts.items())))
        if report.leak_suspects:
            lines.append(tr("leak suspects:"))
            lines += [f"  - {s.column}: {s.reason}" for s in report.leak_suspects]
        else:
            lines.append(tr("leak suspects: none found"))
        lines += [f"  ! {w}" for w in report.other_warnings()]
    return "\n".join(lines)


def _add_train_parser(sub: argparse._SubParsersAction) -> None:
    from mfg_desktop.core.network import DEFAULT_PRESET, PRESETS

    train = sub.add_parser(
        "train", help=tr("train a network on one or more files and save the model file"),
        description=tr("Train with the same defaults as the window: likely leaks are left out (and listed "
                       "with their reason), the recipe is the proposed one, the split is random and stratified."),
    )
    train.add_argument("files", nargs="+", metavar="DATA", help=tr("CSV or Excel files (stacked when several)"))
    train.add_argument("--target", help=tr("target column (or one-hot columns joined with '+'); not needed with "
                                           "--rul or --fails-within"))
    train.add_argument("--exclude", action="append", default=[], metavar="COL[,COL...]",
                       help=tr("columns not to use as inputs (repeatable)"))
    train.add_argument("--include", action="append", default=[], metavar="COL[,COL...]",
                       help=tr("use these provenance or identifier-like columns (source_file, row numbers, serial "
                               "numbers) as inputs on purpose; every scored file then needs them (repeatable)"))
    train.add_argument("--keep", action="append", default=[], metavar="COL[,COL...]",
                       help=tr("use these leak suspects as inputs after all (repeatable)"))
    train.add_argument("--derive", action="append", default=[], metavar="'NAME = FORMULA'",
                       help=tr('derived column, e.g. --derive \'dT = "Process temperature [K]" - "Air temperature [K]"\''))
    train.add_argument("--split", metavar="random|time:COL|group:COL",
                       help=tr("how to split rows into training/validation/test (default: random, stratified; "
                               "with --entity: group:ENTITY)"))
    train.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET,
                       help=tr("network preset (default: {preset})", preset=DEFAULT_PRESET))
    train.add_argument("--epochs", type=int, help=tr("maximum number of epochs (default: the preset's)"))
    train.add_argument("--seed", type=int, default=0, help=tr("random seed for split and training (default: 0)"))
    train.add_argument("--class-weights", choices=("auto", "on", "off"), default="auto",
                       help=tr("balance rare classes (auto: on when the rarest class is under 20%%)"))
    train.add_argument("--model", choices=("auto", "network", "trees", "sequence"), default="auto",
                       help=tr("auto (default): train the network and LightGBM trees, keep the better on the "
                               "validation rows; or only one of them; sequence (with --entity): a network that reads "
                               "each row's last --sequence-length rows of its entity itself"))
    train.add_argument("--positive", metavar="VALUE",
                       help=tr("binary targets: the outcome to detect (default: the value that reads as bad, such "
                               "as fail, NG, worn or 不合格, else the rarer one)"))
    train.add_argument("--cost-fn", type=float, metavar="X",
                       help=tr("cost of a missed defect (binary targets; with --cost-fp the threshold minimises "
                               "the cost on the validation rows, else it maximises F1)"))
    train.add_argument("--cost-fp", type=float, metavar="Y", help=tr("cost of a false alarm (with --cost-fn)"))
    train.add_argument("--out", required=True, metavar="MODEL", help=tr("model file to write (.mfgmodel)"))
    _add_history_options(train)
    train.add_argument("--search", type=int, metavar="N",
                       help=tr("try N network configurations and keep the best on the validation rows "
                               "(with --cluster: in parallel with Ray Tune and ASHA early stopping)"))
    cli_cluster.add_cluster_options(train, workers=True)
    _add_read_options(train)
    train.set_defaults(func=_cmd_train)


def _add_history_options(train: argparse.ArgumentParser) -> None:
    from mfg_desktop.core.history import DEFAULT_SIZES, WINDOW_SETS

    group = train.add_argument_group(
        tr("sensor histories"), tr("Rows that are histories of machines/units/batches: window features per "
                                   "entity (built causally, from each row and the rows before it) and labels built "
                                   "from the end of each history."))
    group.add_argument("--entity", metavar="COL", help=tr("entity column (machine, unit, batch; source_file: one "
                       "history per file); the split is then by entity unless --split says otherwise"))
    group.add_argument("--order", metavar="COL", help=tr("order column (cycle or timestamp; default: the row "
                                                         "order within each file)"))
    label = group.add_mutually_exclusive_group()
    label.add_argument("--rul", action="store_true", help=tr("target: remaining useful life (rows/cycles, or "
                       "hours for a timestamp order, until the entity's last row)"))
    label.add_argument("--fails-within", type=float, metavar="N", help=tr("target: 1 when the entity's last row "
                       "is at most N cycles/rows/hours away, else 0"))
    group.add_argument("--rul-cap", type=float, metavar="N", help=tr("cap the remaining life at N "
                                                                     "(piecewise-linear)"))
    group.add_argument("--join", metavar="TABLE", help=tr("label or lookup table joined onto the entities"))
    group.add_argument("--join-key", metavar="COL", help=tr("the table's key column (matched against the entity; "
                       "with --entity source_file: the file name's stem or the number in it)"))
    group.add_argument("--windows", choices=WINDOW_SETS, default="minimal",
                       help=tr("window feature set (default: minimal: mean, std, slope per window and change "
                               "since the start; extended adds min, max and lags 1-3)"))
    group.add_argument("--window-sizes", default=",".join(map(str, DEFAULT_SIZES)), metavar="W[,W...]",
                       help=tr("window lengths in rows (seconds for a timestamp order; default: %(default)s)"))
    group.add_argument("--resample", metavar="STEP",
                       help=tr("put irregular timestamps (the --order column) on a fixed step per entity first, "
                               "e.g. 10s, 1min, 1h: a row per step holds the readings of the step ending there; "
                               "window sizes then count steps"))
    group.add_argument("--max-gap", type=int, metavar="N",
                       help=tr("with --resample: a gap of up to N empty steps is forward-filled; a longer one is "
                               "left missing and flagged in resampled_gap (default: 3)"))
    group.add_argument("--sequence-length", type=int, metavar="W",
                       help=tr("with --model sequence: the rows of its entity each row's prediction reads, "
                               "itself and the W-1 before it (default: 50)"))


def _history_training(args: argparse.Namespace, df, excluded: list[str]):
    """The history set-up the train options ask for, or None: (training, join report)."""
    from pathlib import Path

    from mfg_desktop.core.history import (
        DEFAULT_MAX_GAP,
        SOURCE_FILE,
        HistorySpec,
        join_table,
        prepare_training,
    )
    from mfg_desktop.core.ingest import load_files

    asked = args.entity or args.order or args.rul or args.fails_within is not None or args.join or args.resample
    if args.max_gap is not None and not args.resample:
        raise MfgError(tr("--max-gap goes with --resample STEP."))
    if args.rul_cap is not None and not args.rul:
        raise MfgError(tr("--rul-cap needs --rul."))
    if not asked:
        return None, None
    if bool(args.join) != bool(args.join_key):
        raise MfgError(tr("--join and --join-key go together: the table and its key column."))
    if not args.entity and (args.rul or args.fails_within is not None or args.join):
        raise MfgError(tr("--rul, --fails-within and --join need --entity COL (whose history ends where?)."),
                       hint=tr("With several files, --entity source_file makes each file one history."))
    try:
        sizes = tuple(int(w) for w in _split_names([args.window_sizes]))
    except ValueError:
        raise MfgError(tr("--window-sizes takes whole numbers separated by commas, not {sizes!r}.",
                          sizes=args.window_sizes)) from None
    if args.entity == SOURCE_FILE and SOURCE_FILE not in df.columns and len(args.files) == 1:
        df = df.copy()  # one file loaded: one history, named like the column several files get
        df.insert(0, SOURCE_FILE, Path(args.files[0]).name)
    report = None
    if args.join:
        table = load_files([args.join], _read_options(args)).frame
        df, report = join_table(df, table, args.entity, args.join_key, args.join)
    label = "rul" if args.rul else "fails_within" if args.fails_within is not None else "none"
    spec = HistorySpec(entity=args.entity, order=args.order, label=label, rul_cap=args.rul_cap,
                       fails_within=args.fails_within, windows=args.windows, sizes=sizes, resample=args.resample,
                       max_gap=DEFAULT_MAX_GAP if args.max_gap is None else args.max_gap)
    return prepare_training(df, spec, target=args.target, exclude=excluded), report


def _target_value(df, target: str, text: str) -> Any:
    """The value of the target column that ``text`` names (``--positive 1`` names the number 1)."""
    from mfg_desktop.core.task import target_series

    values = [v.item() if hasattr(v, "item") else v for v in target_series(df, target).dropna().unique()]
    match = [v for v in values if str(v).strip().casefold() == text.strip().casefold()]
    if not match:
        shown = ", ".join(repr(v) for v in values[:10])
        raise MfgError(tr("--positive {value!r} is not a value of the target {target!r}.", value=text, target=target),
                       hint=tr("Its values: {values}.", values=shown))
    return match[0]


def _split_names(values: Sequence[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _cmd_train(args: argparse.Namespace) -> int:
    import signal
    import threading
    import time

    from mfg_desktop.core.bundle import save_model_file
    from mfg_desktop.core.decisions import models_summary
    from mfg_desktop.core.evaluate import METRIC_TEXT
    from mfg_desktop.core.formula import apply_derived, parse_derived_list
    from mfg_desktop.core.ingest import load_files
    from mfg_desktop.core.jobs import JobState
    from mfg_desktop.core.network import preset, sequence_spec
    from mfg_desktop.core.profile import analyze_target
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import EpochUpdate, train_run
    from mfg_desktop.core.trees import tree_preset

    if args.epochs is not None and args.epochs < 1:
        raise MfgError(tr("--epochs must be at least 1."))
    if (args.cost_fn is None) != (args.cost_fp is None):
        raise MfgError(tr("--cost-fn and --cost-fp go together."), hint=tr("Give both, e.g. --cost-fn 20 --cost-fp 1."))
    options = _read_options(args)
    data = load_files(args.files, options)
    df = data.frame
    excluded = _split_names(args.exclude)
    target = args.target
    history, joined = _history_training(args, df, excluded)
    # checked after the join: a joined table's columns can be excluded too
    unknown = [c for c in excluded if c not in set(map(str, (history.frame if history is not None else df).columns))]
    if unknown:
        raise MfgError(tr("--exclude names a column that is not in the data: {column!r}.", column=unknown[0]),
                       column=unknown[0])
    if history is not None:
        df, target = history.frame, history.target
        for line in joined.lines() if joined is not None else []:
            print(line)
        print(tr("histories: {setup}", setup=history.spec.describe()))
        for warning in history.warnings:
            print(tr("warning: {text}", text=warning))
        excluded += [c for c in history.not_inputs if c not in excluded and c != target]
    elif target is None:
        raise MfgError(tr("train needs --target COL (or --rul / --fails-within with --entity)."))
    derived = parse_derived_list(args.derive, list(map(str, df.columns)))
    included = _split_names(args.include)
    keep = set(_split_names(args.keep)) | set(included)
    report = analyze_target(apply_derived(df, derived) if derived else df, target,
                            entity=history.spec.entity if history is not None else None)
    leaks = {s.column: s.reason for s in report.leak_suspects if s.column not in keep and s.column not in excluded}
    for column, reason in leaks.items():
        print(tr("left out (likely leak): {column}: {reason}", column=column, reason=reason))
    recipe = propose_recipe(df, target, exclude=excluded, derived=derived, leak_suspects=leaks,
                            include=included)
    if args.positive is not None:
        recipe.positive_class = _target_value(df, target, args.positive)
    for plan in recipe.columns:
        if plan.caution and plan.role == "drop" and plan.name not in excluded and plan.name not in leaks:
            print(tr("left out ({why}): {column} (use --include {column} to use it)", why=plan.caution,
                     column=plan.name))
    for warning in recipe.input_warnings():
        print(tr("warning: {text}", text=warning), file=sys.stderr)
    split_text = args.split if args.split is not None or history is None else history.split_text
    split = SplitSpec.parse(split_text or "random", seed=args.seed)
    spec = preset(args.preset)
    if args.model == "sequence":
        if history is None:
            raise MfgError(tr("--model sequence reads histories: give --entity COL (and --order COL)."))
        spec = sequence_spec(spec, args.sequence_length)
    elif args.sequence_length is not None:
        raise MfgError(tr("--sequence-length goes with --model sequence."))
    if args.epochs is not None:
        spec = spec.with_changes(epochs=args.epochs)
    class_weight = {"auto": "auto", "on": True, "off": False}[args.class_weights]
    print(tr("{rows:,} rows, target {target!r} ({task}), inputs ({n}): {inputs}", rows=len(df), target=target,
             task=tr(recipe.task), n=len(recipe.inputs), inputs=", ".join(recipe.inputs)))
    print(tr("split {split}, preset {preset}, model {model}, up to {epochs} epochs, seed {seed}", split=split.text,
             preset=args.preset, model=args.model, epochs=spec.epochs, seed=args.seed))

    def print_epoch(u: EpochUpdate) -> None:
        parts = [tr("epoch {epoch}/{epochs} ({share:4.0%})", epoch=u.epoch, epochs=u.epochs,
                    share=u.epoch / u.epochs), f"loss {u.loss:.4f}"]
        if u.val_loss is not None:
            parts.append(f"val_loss {u.val_loss:.4f}")
        if u.val_metric is not None:
            parts.append(f"val_{u.metric_name} {u.val_metric:.4f}")
        if u.val_pr_auc is not None:
            parts.append(f"val_pr_auc {u.val_pr_auc:.4f}")
        parts += [f"{u.elapsed_s:.1f} s", tr("{rate:,.0f} samples/s", rate=u.samples_per_s)]
        print("  ".join(parts), flush=True)

    last_tree_line = [0.0]

    def print_trees(fraction: float, message: str) -> None:
        # LightGBM reports every round; a line a second is enough to see it move
        if state.stage == "trees" and message.startswith("LightGBM") and (
                time.monotonic() - last_tree_line[0] >= 1.0 or fraction >= 1.0):
            last_tree_line[0] = time.monotonic()
            print(message, flush=True)

    state = JobState(on_progress=print_trees)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # The first Ctrl+C stops training gracefully; the best weights so far are still saved.
        def on_interrupt(signum, frame):
            print(tr("stopping after this batch (Ctrl+C again to abort)..."), file=sys.stderr, flush=True)
            state.request_cancel()
            signal.signal(signal.SIGINT, previous or signal.default_int_handler)

        previous = _take_over_interrupt(on_interrupt)
    try:
        options = {"model_choice": args.model, "tree_spec": tree_preset(args.preset), "cost_fn": args.cost_fn,
                   "cost_fp": args.cost_fp,
                   "history_spec": history.spec.to_dict() if history is not None else None}
        run = cli_cluster.train(args, df, recipe, split, spec, class_weight, state, print_epoch, options) or \
            train_run(df, recipe, split, spec, seed=args.seed, class_weight=class_weight, state=state,
                      data_files=args.files, printer=print_epoch, test_baselines=True, **options)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if run.model is not None:
        how = (tr("network cancelled after {epochs} epochs; best epoch {best}") if run.cancelled else
               tr("network stopped early after {epochs} epochs; best epoch {best}") if run.stopped_early else
               tr("network finished after {epochs} epochs; best epoch {best}"))
        print(how.format(epochs=run.epochs_run, best=run.best_epoch))
    print(tr("trained in {seconds:.1f} s on {device}", seconds=run.duration_s, device=run.device))
    for line in models_summary(run):
        print(line)
    if run.class_weights:
        print(tr("class weights: {weights}", weights=", ".join(
            f"{run.classes[k]!r} {v:.3g}" for k, v in run.class_weights.items())))
    print(tr("validation (chosen model): {metrics}", metrics=", ".join(
        f"{tr(METRIC_TEXT.get(k.removeprefix('val_'), k))} {v:.4f}" for k, v in run.metrics.items())))
    if history is not None:
        run.history_spec = history.spec.to_dict()
    path = save_model_file(run, args.out)
    print(tr("saved {path}", path=path))
    return 0


def _add_predict_parser(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser(
        "predict", help=tr("score CSV/Excel files (or whole folders) with a model file"),
        description=tr("Score files with a model file: each file is checked against the model's inputs, "
                       "scored in chunks and written as <name>_scored.csv into --out (never over an input). "
                       "A summary per file goes to stdout."),
        epilog=tr("exit status: 0 every row of every file scored; 1 a file was rejected (nothing scored); "
                  "3 files scored but some rows rejected; 2 a usage or model problem."),
    )
    predict.add_argument("model", metavar="MODEL", help=tr("model file (.mfgmodel)"))
    predict.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help=tr("files, or folders of files"))
    predict.add_argument("--out", required=True, metavar="DIR", help=tr("folder for the scored files"))
    predict.add_argument("--format", choices=("csv", "xlsx"), default="csv",
                         help=tr("output format (xlsx only for files that fit in one sheet; default: csv)"))
    predict.add_argument("--watch", action="store_true",
                         help=tr("keep watching the folders and score each new file once (stop with Ctrl+C)"))
    predict.add_argument("--poll", type=float, default=2.0, metavar="S",
                         help=tr("seconds between looks at watched folders (default: 2)"))
    cli_cluster.add_cluster_options(predict)
    predict.add_argument("--stable", type=float, default=2.0, metavar="S",
                         help=tr("a file counts as completely written once unchanged this long (default: 2)"))
    _add_read_options(predict)
    predict.set_defaults(func=_cmd_predict)


def _cmd_predict(args: argparse.Namespace) -> int:
    import signal
    import threading
    import time
    from pathlib import Path

    from mfg_desktop.core.bundle import load_model_file
    from mfg_desktop.core.jobs import JobState
    from mfg_desktop.core.score import ScoreOptions, model_card_text, score_files, write_score_summary
    from mfg_desktop.core.watch import FolderWatcher

    if args.poll <= 0 or args.stable < 0:
        raise MfgError(tr("--poll must be above 0 and --stable at least 0 seconds."))
    model = load_model_file(args.model)
    print(model_card_text(model), flush=True)
    read = None
    if args.encoding or args.delimiter or args.sheet:
        read = _read_options(args)
    options = ScoreOptions(read=read, format=args.format)
    results = []

    def report(obj: object) -> None:
        summary = getattr(obj, "summary", None)
        if summary is not None:
            results.append(obj)
            print(summary(), flush=True)
            try:  # next to the output: what `mfg-desktop report MODEL --predictions DIR` reads
                write_score_summary(obj, args.out, model.run.id)
            except (OSError, MfgError) as exc:
                print(tr("warning: the summary of {file} was not written ({reason})", file=obj.path.name, reason=exc),
                      file=sys.stderr)

    state = JobState(on_partial_result=report)
    previous: dict[int, object] = {}
    stopped_by: list[int] = []
    if threading.current_thread() is threading.main_thread():
        def stop(signum, frame):
            if not stopped_by:
                print(tr("stopping..."), file=sys.stderr, flush=True)
            stopped_by.append(signum)
            state.request_cancel()

        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, stop)
        previous[signal.SIGINT] = _take_over_interrupt(stop)
    try:
        if args.cluster and args.watch:
            raise MfgError(tr("--watch scores on this PC; drop --cluster to watch a folder."))
        if args.cluster:
            cli_cluster.score(args, model, args.inputs, args.out, state, options)
        elif not args.watch:
            score_files(model, args.inputs, args.out, state=state, options=options)
        else:
            folders = [Path(p) for p in args.inputs if Path(p).is_dir()]
            files = [p for p in args.inputs if not Path(p).is_dir()]
            if not folders:
                raise MfgError(tr("--watch needs at least one folder to watch."),
                               hint=tr("Give the folder the line exports into."))
            if files:
                score_files(model, files, args.out, state=state, options=options)

            def on_event(event) -> None:
                if event.score is not None:
                    report(event.score)
                elif event.kind != "waiting":
                    print(event.text(), file=sys.stderr, flush=True)

            watchers = [FolderWatcher(f, args.out, model, poll_s=args.poll, stable_s=args.stable,
                                      on_event=on_event, options=options) for f in folders]
            if not state.is_interruption_requested():
                for f in folders:
                    print(tr("watching {folder} (Ctrl+C to stop)", folder=f), file=sys.stderr, flush=True)
            while not state.is_interruption_requested():
                for watcher in watchers:
                    watcher.poll_once(state)
                deadline = time.monotonic() + args.poll
                while time.monotonic() < deadline and not state.is_interruption_requested():
                    time.sleep(0.05)
    except Cancelled:
        if not args.watch:
            raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.watch and signal.SIGINT in stopped_by:
        return 130  # what a shell reports after Ctrl+C; SIGTERM (a service stopping it) ends normally
    if any(r.rejected for r in results):
        return 1
    if any(r.rows_rejected for r in results):
        return 3
    return 0


def _add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser(
        "evaluate", help=tr("judge a model file on labelled data (held-out rows only)"),
        description=tr("Metrics, baselines, threshold and permutation importance of a model file on labelled "
                       "data. On the file the model was trained on only its held-out test rows are used; on any "
                       "other file every labelled row."),
    )
    evaluate.add_argument("model", metavar="MODEL", help=tr("model file (.mfgmodel)"))
    evaluate.add_argument("files", nargs="+", metavar="DATA", help=tr("labelled CSV or Excel files (stacked)"))
    evaluate.add_argument("--json", action="store_true", help=tr("print machine-readable JSON"))
    evaluate.add_argument("--explain-row", type=int, action="append", default=[], metavar="ROW",
                          help=tr("also say which inputs moved the prediction of data row ROW (as numbered on the "
                                  "Evaluate step, 1 = the first row under the header; one of the evaluated rows); "
                                  "may be repeated"))
    _add_read_options(evaluate)
    evaluate.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from mfg_desktop.core.bundle import load_model_file
    from mfg_desktop.core.evaluate import evaluate_model_file
    from mfg_desktop.core.ingest import load_files
    from mfg_desktop.core.jobs import JobState

    loaded = load_model_file(args.model)
    options = _read_options(args)
    state = JobState(on_progress=_progress_printer()) if sys.stderr.isatty() else None
    data = load_files(args.files, options, state=state)
    evaluation = evaluate_model_file(loaded, data.frame, data_files=args.files, state=state)
    if state is not None:
        print(file=sys.stderr)
    explained = [(row, evaluation.explain_row(evaluation.position_of(row))) for row in args.explain_row]
    if args.json:
        out = evaluation.to_dict()
        if explained:
            out["explanations"] = [{"data_row": row, **c.to_dict()} for row, c in explained]
        print(json.dumps(out, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        print("\n\n".join([_evaluation_text(evaluation), *(_explanation_text(row, c) for row, c in explained)]))
    return 0


def _explanation_text(row: int, c) -> str:
    """One row's contributions as aligned text, largest effect first."""
    from mfg_desktop.core.explain import format_change

    lines = [tr("data row {row}: {output} = {value:.3f}; what moved it (each input alone set to its typical "
                "training value):", row=row, output=c.output, value=c.prediction)]
    table = [[tr("input"), tr("value"), tr("typical"), tr("change")]]
    table += [[str(column), _cell(value), _cell(reference), format_change(delta)]
              for column, value, reference, delta in c.ranked()]
    return "\n".join(lines + ["  " + line for line in _aligned(table, right={1, 2, 3})])


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _evaluation_text(evaluation) -> str:
    """The evaluation as plain text: metrics beside the baselines, confusion matrix, importance."""
    from mfg_desktop.core.decisions import format_threshold
    from mfg_desktop.core.evaluate import METRIC_TEXT, MODEL_LABEL, metrics_table, model_columns
    from mfg_desktop.core.explain import derived_note, format_change

    d = evaluation.to_dict()
    lines = [tr("task: {task}   target: {target}", task=tr(d["task"]), target=d["target"]),
             tr("rows used: {rows:,} — {note}", rows=d["rows_used"], note=d["note"])]
    models = d.get("models") or {}
    if len(models) > 1:
        lines.append(tr("model: {model} (chosen: {reason})", model=tr(MODEL_LABEL.get(d["model"], d["model"])),
                        reason=d["choice_reason"]))
    if d["threshold"] is not None:
        lines.append(tr("decision threshold on p({cls}): {threshold} (chosen on the validation rows)",
                        cls=d["positive_class"], threshold=format_threshold(d["threshold"])))
        others = [f"{e['label']} {format_threshold(e['threshold'])}" for name, e in models.items() if not e["chosen"]]
        if others:
            lines.append("  " + tr("other model at its own validated threshold: {models}; baselines at 0.500",
                                   models=", ".join(others)))
    lines += [tr("note: {text}", text=n) for n in d["notes"]]
    lines.append("")
    header = [tr("metric"), *model_columns(evaluation)]
    rows = [[tr(METRIC_TEXT.get(k, k)), *("—" if v is None else f"{v:.4f}" for v in values)]
            for k, values in metrics_table(evaluation)]
    lines += _aligned([header, *rows], right=set(range(1, len(header))))
    lines.append(d["baseline_note"])
    if evaluation.history is not None:  # a history model: how far off it is at each entity's latest row
        lines.append(evaluation.history.headline())
    if d["threshold"] is not None:
        for e in models.values():
            half = e.get("metrics_at_0.5") or {}
            text = ", ".join(f"{tr(METRIC_TEXT[k])} {'—' if half.get(k) is None else format(half[k], '.4f')}"
                             for k in ("precision", "recall", "f1"))
            line = tr("{model} at 0.500 instead of {threshold}: {metrics}", model=e["label"],
                      threshold=format_threshold(e["threshold"]), metrics=text)
            if "cost" in e:
                line += tr("; expected cost on these rows {cost:,.1f} at {threshold}, {cost_half:,.1f} at 0.500",
                           cost=e["cost"], threshold=format_threshold(e["threshold"]), cost_half=e["cost_at_0.5"])
            lines.append(line)
    conf = d.get("confusion")
    if conf:
        lines += ["", tr("confusion matrix (rows: actual, columns: predicted; count and share of the actual class):")]
        labels = conf["labels"]
        width = max(8, *(len(x) for x in labels))
        lines.append(" " * width + "  " + "  ".join(x.rjust(14) for x in labels))
        for label, counts, shares in zip(labels, conf["counts"], conf["shares"]):
            cells = [f"{c} ({s * 100:.1f}%)".rjust(14) for c, s in zip(counts, shares)]
            lines.append(label.ljust(width) + "  " + "  ".join(cells))
    if d["importance"]:
        info = d["importance_info"]
        metric = tr(METRIC_TEXT.get(info["metric"], info["metric"]))
        lines += ["", tr("permutation importance (drop in {metric}, {repeats} shuffles of {rows:,} rows):",
                         metric=metric, repeats=info["n_repeats"], rows=info["n_rows"])]
        width = max(len(c) for c in d["importance"])
        for column, v in d["importance"].items():
            mean = format_change(v["mean"])
            std = "" if v["std"] is None else f" ± {format_change(v['std'], 2, sign=False)}"
            lines.append(f"  {column.ljust(width)}  {mean}{std}")
        if info.get("derived"):
            lines.append("  " + derived_note(info["derived"]))
        if info["pca"]:
            lines.append("  " + tr("PCA is on: importance is per original column, measured through the PCA."))
    return "\n".join(lines)


def _add_report_parser(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report", help=tr("write a PDF report of a model file, or of the files it scored"),
        description=tr("Write a PDF report. Of a model: data, preparation, model, training curves and, with "
                       "--data, the data-quality profile, the evaluation on held-out rows and feature importance. "
                       "With --predictions: a batch report of the files `mfg-desktop predict` scored into that "
                       "folder (it reads the *_scored.summary.json files predict writes next to each output; "
                       "nothing is scored again). Plant, line and author default to the ones saved in the app's "
                       "settings."),
    )
    report.add_argument("model", metavar="MODEL", help=tr("model file (.mfgmodel)"))
    report.add_argument("--out", required=True, metavar="FILE.pdf", help=tr("the PDF to write"))
    report.add_argument("--data", nargs="+", metavar="FILE",
                        help=tr("labelled data to profile and evaluate on (the training file: its held-out "
                                "test rows)"))
    report.add_argument("--predictions", metavar="DIR", help=tr("folder written by `mfg-desktop predict --out DIR`"))
    report.add_argument("--sections", metavar="LIST",
                        help=tr("comma-separated sections of a model report (default: all): {sections}",
                                sections="data,preparation,model,training,evaluation,importance"))
    report.add_argument("--plant", help=tr("plant name for the cover and page headers"))
    report.add_argument("--line", help=tr("line name for the cover and page headers"))
    report.add_argument("--author", help=tr("author named on the cover"))
    report.add_argument("--title", help=tr("report title"))
    report.add_argument("--paper", choices=("auto", "A4", "Letter"), default="auto",
                        help=tr("paper size (auto: Letter in the US and Canada, else A4)"))
    report.add_argument("--cost-missed", type=float, default=10.0, metavar="C",
                        help=tr("binary: cost of a missed positive, for the cost at the threshold (default: 10)"))
    report.add_argument("--cost-false-alarm", type=float, default=1.0, metavar="C",
                        help=tr("binary: cost of a false alarm (default: 1)"))
    _add_read_options(report)
    report.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from mfg_desktop.core import report as rp
    from mfg_desktop.core.bundle import load_model_file
    from mfg_desktop.core.jobs import JobState

    if args.predictions and args.data:
        raise MfgError(tr("--predictions makes a batch report of scored files; --data is for a model report. "
                          "Give one of them."))
    sections = tuple(rp.SECTIONS)
    if args.sections:
        sections = tuple(s.strip().lower() for s in args.sections.split(",") if s.strip())
        unknown = [s for s in sections if s not in rp.SECTIONS]
        if unknown:
            raise MfgError(tr("Unknown section(s) in --sections: {sections}.", sections=", ".join(unknown)),
                           hint=tr("Choose from: {sections}.", sections=",".join(rp.SECTIONS)))
    if args.cost_missed < 0 or args.cost_false_alarm < 0:
        raise MfgError(tr("Costs must be zero or positive."))
    # Qt's GUI module draws the PDF (fonts, painter); no window opens, offscreen without a display.
    from mfg_desktop.qt.settings import app_settings
    from mfg_desktop.report_pdf import ensure_gui_app, render_pdf

    ensure_gui_app()
    saved = app_settings()

    def setting(value: str | None, key: str) -> str:
        return value if value is not None else str(saved.value(f"report/{key}", "") or "")

    settings = rp.ReportSettings(
        sections=sections, plant=setting(args.plant, "plant"), line=setting(args.line, "line"),
        author=setting(args.author, "author"), title=args.title or "", paper=args.paper,
        cost_missed=args.cost_missed, cost_false_alarm=args.cost_false_alarm,
    )
    state = JobState(on_progress=_progress_printer()) if sys.stderr.isatty() else None
    loaded = load_model_file(args.model)
    if args.predictions:
        from mfg_desktop.core.score import read_score_summaries

        summaries = read_score_summaries(args.predictions)
        if not summaries:
            raise MfgError(tr("The folder holds no scoring summaries (*_scored.summary.json)."), file=args.predictions,
                           hint=tr("Score files with `mfg-desktop predict MODEL FILES --out DIR` first; it writes "
                                   "a summary next to each scored file."))
        doc = rp.build_batch_report(loaded, summaries, settings)
    else:
        evaluation = profile = target_report = None
        if args.data:
            from mfg_desktop.core.evaluate import evaluate_model_file
            from mfg_desktop.core.ingest import load_files
            from mfg_desktop.core.profile import analyze_target, profile_frame

            options = _read_options(args)
            data = load_files(args.data, options, state=state)
            profile = profile_frame(data.frame, state=state)
            target_report = analyze_target(data.frame, loaded.run.recipe.target, profile, state=state)
            evaluation = evaluate_model_file(loaded, data.frame, data_files=args.data, state=state)
        else:  # the evaluation on the held-out rows that the model file carries, if any
            evaluation = loaded.stored_evaluation
        doc = rp.build_model_report(loaded, evaluation, profile, target_report, settings)
    result = render_pdf(doc, args.out, state=state, paper=None if args.paper == "auto" else args.paper)
    if state is not None:
        print(file=sys.stderr)
    for warning in result.warnings:
        print(tr("warning: {text}", text=warning), file=sys.stderr)
    print(trn("wrote {path} ({n} page, {paper})", "wrote {path} ({n} pages, {paper})", result.pages,
              path=result.path, paper=result.paper))
    return 0


class _OfflineRequests(types.ModuleType):
    """Takes the place of the HTTP client ``requests``: importing it works, using it fails."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"mfg-desktop works offline: requests.{name} is not available in it")


def _keep_http_clients_out() -> None:
    """Put an unusable ``requests`` in place before TensorFlow loads, so no socket is ever opened.

    TensorFlow imports ``requests`` (its preemption watcher asks a cloud metadata server, Keras'
    RemoteMonitor posts to a URL), and importing the real one loads urllib3, which opens an IPv6
    socket at import to probe for IPv6 support. The app never speaks HTTP.
    """
    if "requests" not in sys.modules:
        stand_in = _OfflineRequests("requests", _OfflineRequests.__doc__)
        stand_in.__spec__ = importlib.machinery.ModuleSpec("requests", None)
        sys.modules["requests"] = stand_in


# argparse's own words, as Python 3.11-3.13 write them; answered from the app's catalog
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("the following arguments are required: %s"), N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"), N_("expected at most one argument"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("%(prog)s: error: %(message)s\n"), N_("unrecognized arguments: %s"), N_("expected one argument"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("argument %(argument_name)s: %(message)s"),
    N_("not allowed with argument %s"), N_("invalid %(type)s value: %(value)r"), N_("expected at least one argument"),
)


def _argparse_in_language() -> None:
    """argparse translates its own words ("usage:", "error:") with the standard library's gettext
    functions it imported; point them at the app's catalog."""
    from mfg_desktop.core.i18n import catalog

    argparse._ = catalog().gettext  # type: ignore[attr-defined]
    argparse.ngettext = catalog().ngettext  # type: ignore[attr-defined]


_EARLY_INTERRUPT = threading.Event()


def _note_interrupt(signum: int, frame: object) -> None:
    """Ctrl+C before a command takes it over: Python's own KeyboardInterrupt, and remembered,
    because CPython drops an exception raised inside a weakref callback (an import lock's, during
    the start-up imports) and the program would go on as if no key had been pressed."""
    _EARLY_INTERRUPT.set()
    raise KeyboardInterrupt


def _take_over_interrupt(handler: Any) -> Any:
    """Install a command's own SIGINT handler; a Ctrl+C that start-up lost reaches it at once.
    Returns the handler it replaced."""
    previous = signal.signal(signal.SIGINT, handler)
    if _EARLY_INTERRUPT.is_set():
        handler(signal.SIGINT, None)
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    _EARLY_INTERRUPT.clear()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _note_interrupt) if main_thread else None
    try:
        rc = _main(argv)
    except KeyboardInterrupt:
        # Ctrl+C before a command installs its own handler (typically during the seconds of the
        # TensorFlow import): stop quietly, with the shell's status for SIGINT, no traceback.
        print(tr("interrupted"), file=sys.stderr, flush=True)
        rc = 130
    if argv is None and main_thread:
        # The program is ending (not a call from a test or a script): a further Ctrl+C during the
        # interpreter's shutdown would otherwise end it by SIGINT, with a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    elif main_thread:
        signal.signal(signal.SIGINT, previous)
    return rc


def _main(argv: Sequence[str] | None) -> int:
    _keep_http_clients_out()
    argv = list(sys.argv[1:] if argv is None else argv)
    from mfg_desktop.core.backend import set_verbose

    set_verbose(VERBOSE_FLAG in argv)
    argv = [a for a in argv if a != VERBOSE_FLAG]
    # headless commands speak MFG_LANG or the system's language; the window may use the saved choice
    from mfg_desktop.core.i18n import set_language

    set_language()
    _argparse_in_language()
    if argv and argv[0] in SUBCOMMANDS:
        args = _build_parser().parse_args(argv)
        try:
            return int(args.func(args) or 0)
        except MfgError as exc:
            # one line, even when a column name in the message holds a line break
            print(tr("error: {message}", message=str(exc).replace("\r", "\\r").replace("\n", "\\n")),
                  file=sys.stderr)
            return 2
        except Cancelled:
            print(tr("cancelled"), file=sys.stderr)
            return 130
    if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
        _gui_parser().print_help()
        print("\n" + tr("headless commands: {commands} (mfg-desktop COMMAND --help)", commands=", ".join(SUBCOMMANDS)))
        return 0
    parser = _gui_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        if args.files or args.demo:
            parser.error(tr("--self-test takes no files and no --demo"))
        from mfg_desktop.qt.selftest import run_self_test

        return run_self_test()
    from mfg_desktop.qt.app import run_app  # Qt only when the window is wanted

    return run_app(files=args.files, demo=args.demo)


if __name__ == "__main__":
    raise SystemExit(main())
