"""Scoring history files with a model trained on window features.

A history model needs whole entities (a row's features come from its earlier rows), so a file is
read whole rather than streamed: the same checks and windows as in training are applied
(:func:`mfg_desktop.core.history.build_features` with the stored :class:`HistorySpec`), every row
is scored, and ``short_history`` flags rows whose entity had fewer rows (or seconds) so far than
the longest window. Beside ``<name>_scored.csv`` goes ``<name>_entities.csv``: one row per
entity with its id (under the entity column's own name), its last order value, and the latest
prediction.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from mfg_desktop.core.bundle import LoadedModel
from mfg_desktop.core.errors import DataError, MfgError
from mfg_desktop.core.history import SOURCE_FILE, HistorySpec, build_features, feature_names
from mfg_desktop.core.ingest import load_files
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.task import BINARY, REGRESSION

SHORT_COLUMN = "short_history"


def entities_path(path: str | Path, out_dir: str | Path) -> Path:
    """``out_dir/<stem>_entities.csv``: the per-entity summary of a scored history file."""
    return Path(out_dir) / f"{Path(path).stem}_entities.csv"


def required_columns(loaded: LoadedModel, spec: HistorySpec) -> list[str]:
    """The raw columns a history file must have: entity, order, windowed inputs, other inputs."""
    built = set(feature_names(spec))
    names = [c for c in (spec.entity, spec.order) if c and c != SOURCE_FILE]
    for c in [*spec.inputs, *loaded.fitted.recipe.inputs]:
        if c not in built and c not in names and c != SOURCE_FILE:
            names.append(c)
    return names


def _write_csv(frame: pd.DataFrame, target: Path) -> None:
    """Written to a temporary file beside the target, then moved: never half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise DataError(f"the output cannot be written ({exc.strerror or exc}).", file=target,
                        hint="Close the file if it is open in Excel, or choose another output folder.") from None


def entity_summary(frame: pd.DataFrame, predictions: pd.DataFrame, spec: HistorySpec,
                   short: np.ndarray, score_column: str) -> pd.DataFrame:
    """One row per entity at its last row (by order): id, last order value, latest prediction."""
    entity = spec.entity or "entity"
    keys = frame[spec.entity] if spec.entity else pd.Series("(all rows)", index=frame.index)
    order = frame[spec.order] if spec.order else pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
    work = pd.DataFrame({"key": keys.to_numpy(), "order": order.to_numpy(), "pos": np.arange(len(frame))})
    last = work.sort_values(["order", "pos"], kind="stable").groupby("key", sort=False).tail(1)
    last = last.sort_values("pos")
    rows = last["pos"].to_numpy()
    counts = work.groupby("key", sort=False).size()
    out = pd.DataFrame({entity: last["key"].to_numpy()})
    out[f"last {spec.order}" if spec.order else "last row"] = last["order"].to_numpy()
    out["latest prediction"] = predictions["prediction"].to_numpy()[rows]
    if score_column != "prediction":
        out[f"latest {score_column}"] = predictions[score_column].to_numpy()[rows]
    out["rows"] = counts.reindex(last["key"]).to_numpy()
    out[SHORT_COLUMN] = short[rows]
    return out


def score_history_file(
    loaded: LoadedModel,
    path: str | Path,
    out_dir: str | Path,
    options: object | None = None,
    state: JobState | None = None,
    *,
    protected: Iterable[str | Path] = (),
    progress_span: tuple[float, float] = (0.0, 1.0),
) -> object:
    """Score one history file into ``<stem>_scored.csv`` and ``<stem>_entities.csv`` in ``out_dir``.

    Returns a :class:`mfg_desktop.core.score.FileScore`; a file that cannot be scored (unreadable,
    a required column missing, the order going backwards) comes back rejected with the reason,
    and nothing is written.
    """
    from mfg_desktop.core.score import (
        FileScore,
        ScoreOptions,
        _check_output,
        _histogram,
        _label_text,
        _threshold,
        _value_summary,
        output_path,
    )

    options = options if isinstance(options, ScoreOptions) else ScoreOptions()
    state = ensure_state(state)
    path, out_dir = Path(path), Path(out_dir)
    started = time.perf_counter()
    spec = HistorySpec.from_dict(loaded.run.history_spec or {})
    result = FileScore(path=path, task=loaded.task, classes=list(loaded.classes), threshold=_threshold(loaded),
                       positive_class=loaded.fitted.label_mapping.positive_class)
    final = output_path(path, out_dir, "csv")
    summary_file = entities_path(path, out_dir)
    _check_output(final, [path, *map(Path, protected)])
    _check_output(summary_file, [path, *map(Path, protected)])
    start, span = progress_span
    state.set_progress(start, f"Scoring the histories in {path.name}")
    try:
        frame = load_files([path], options.read, state=None).frame
        result.rows_read = len(frame)
        if spec.entity == SOURCE_FILE and SOURCE_FILE not in frame.columns:
            frame.insert(0, SOURCE_FILE, path.name)  # one file, one history: as when several were loaded
        missing = [c for c in required_columns(loaded, spec) if c not in frame.columns]
        if missing:
            raise DataError(f"missing required column(s) {', '.join(map(repr, missing))}.", file=path,
                            column=missing[0], hint="Score files exported like the ones the model was trained on.")
        state.check_cancelled()
        features = build_features(frame, spec, scoring=True)
        state.check_cancelled()
        predictions = loaded.predict_frame(features.frame)
    except MfgError as exc:
        result.status = "rejected"
        result.error = exc.describe()
        result.seconds = time.perf_counter() - started
        return result
    if loaded.task == REGRESSION:
        score_column = "prediction"
        result.scores = predictions["prediction"].to_numpy(dtype=np.float32)
        result.value_summary = _value_summary(result.scores)
    else:
        positive = loaded.fitted.label_mapping.positive_class
        score_column = f"p({positive})" if loaded.task == BINARY else "prediction"
        probs = predictions[[c for c in predictions.columns if c.startswith("p(")]].to_numpy()
        result.scores = (probs[:, 1] if loaded.task == BINARY else probs.max(axis=1)).astype(np.float32)
        counts = predictions["prediction"].value_counts()
        result.class_counts = {_label_text(c): int(counts.get(c, 0)) for c in loaded.classes}
        if loaded.task == BINARY:
            result.flagged_count = int(counts.get(positive, 0))
    result.histogram = _histogram(result.scores, loaded.task)
    scored = frame.copy()
    for c in predictions.columns:
        scored[c] = predictions[c].to_numpy()
    scored[SHORT_COLUMN] = features.short
    summary = entity_summary(frame, predictions, spec, features.short, score_column)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_csv(scored, final)
        _write_csv(summary, summary_file)
    except DataError as exc:
        result.status = "rejected"
        result.error = exc.describe()
        result.seconds = time.perf_counter() - started
        return result
    result.status = "scored"
    result.output = final
    result.rows_scored = len(frame)
    result.output_columns = [*predictions.columns, SHORT_COLUMN]
    result.preview = scored.head(20)
    n_short = int(summary[SHORT_COLUMN].sum())
    result.notes.append(f"{len(summary)} entit{'y' if len(summary) == 1 else 'ies'} ({spec.describe()}); "
                        f"per-entity summary -> {summary_file}")
    if n_short:
        longest = max(spec.sizes) if spec.sizes else 0
        unit = "s" if spec.order_kind == "time" else " rows"
        result.notes.append(f"{n_short} entit{'y is' if n_short == 1 else 'ies are'} shorter than the {longest}{unit} "
                            f"window: scored with the rows they have, flagged in {SHORT_COLUMN}")
    result.seconds = time.perf_counter() - started
    state.set_progress(start + span, f"Scored {path.name}")
    return result
