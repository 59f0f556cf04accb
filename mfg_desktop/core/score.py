"""Scoring new files with a trained model: schema check, drift guardrails, streaming, export.

A file is read in chunks (:func:`mfg_desktop.core.ingest.iter_chunks`) of raw text, so that a
1,000,000-row file never sits in memory, and so that nothing the sample suggested about a column
can be contradicted half-way through: each chunk is checked against the model's input schema,
converted, transformed by the fitted recipe, predicted, and appended to the output, which is
renamed into place at the end (atomic; an input file is never written).

Schema check (:class:`SchemaReport`): required columns missing (the file is rejected), extra
columns (listed, ignored, kept in the output), names matching only after ignoring case and
surrounding spaces (used, reported), values of the wrong type (which column, examples, how many
rows: those rows are rejected, the others scored), categories unseen in training (counted; they
get no category, as one-hot encoding with ``handle_unknown="ignore"`` did in training), missing
values (counted; imputed as in training, or the row is rejected when the recipe has no imputation).

Drift (:class:`DriftReport`), per input column over the rows scored:

* the share of values outside the training range ``[min, max]``; flagged above
  :data:`OUT_OF_RANGE_FLAG` (2 %: a fresh sample of the training distribution lands outside it
  with probability about 2 / (training rows + 1));
* the population stability index (PSI) against the training distribution stored in the model file
  (decile bins for numbers, category shares for text): ``sum((p - q) * ln(p / q))`` over bins,
  shares floored at :data:`PSI_FLOOR`. Usual reading: < 0.1 stable, 0.1-0.25 moderate shift,
  > 0.25 significant shift; flagged above :data:`PSI_FLAG`. PSI of a small sample is biased upward
  by about (bins - 1) / rows, so it is only judged from :data:`MIN_ROWS_FOR_PSI` values on;
* missing values: flagged when the share missing exceeds training's by :data:`MISSING_RISE_FLAG`.

Date/time inputs are not judged for drift: new data lies after the training period by nature.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mfg_desktop import __version__
from mfg_desktop.core.atomic import AtomicFile, atomic_write, write_bytes_atomic
from mfg_desktop.core.bundle import LoadedModel
from mfg_desktop.core.decisions import format_threshold
from mfg_desktop.core.errors import DataError, MfgError
from mfg_desktop.core.formula import apply_derived
from mfg_desktop.core.history import SOURCE_FILE, HistorySpec, build_features, feature_names, resample_history
from mfg_desktop.core.i18n import N_, tr, trn
from mfg_desktop.core.ingest import (
    EXCEL_SUFFIXES,
    NULL_VALUES,
    SUPPORTED_SUFFIXES,
    WHITESPACE,
    FileSettings,
    ReadOptions,
    load_files,
    misgrouped_numbers,
    open_chunks,
)
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.recipe import identifier_name
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION
from mfg_desktop.core.train import TrainingRun

CHUNK_ROWS = 100_000
# predict_outputs' batch: chunks are whole multiples of it, so every row is predicted in the same
# batch as when the whole file is predicted at once, which makes the results bit-identical.
PREDICT_BATCH = 8192
PSI_FLAG = 0.25
PSI_WATCH = 0.10
PSI_FLOOR = 1e-4
MIN_ROWS_FOR_PSI = 200
OUT_OF_RANGE_FLAG = 0.02
MISSING_RISE_FLAG = 0.10
KEEP_FLAGGED = 1000
KEEP_PREVIEW = 2000
MAX_EXAMPLES = 3
MAX_TRACKED_VALUES = 50  # distinct unseen categories counted one by one per column
MAX_BISECT_REJECTS = 1000
EXCEL_MAX_ROWS = 1_048_575  # a sheet's rows, less the header
SCORED_SUFFIX = "_scored"
SUMMARY_SUFFIX = ".summary.json"  # per scored file, written by the predict command
SUMMARY_FLAGGED_ROWS = 20
HISTOGRAM_BINS = 20
OUTPUT_FORMATS = ("csv", "xlsx")

_NULL_SET = pa.array(NULL_VALUES, pa.string())
_THOUSANDS_VARIANTS = {" ": (" ", "\u00a0", "\u202f"), "'": ("'", "\u2019"), ",": (",",), ".": (".",)}
_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


# --------------------------------------------------------------------------------------------
# the model


def as_loaded_model(model: LoadedModel | TrainingRun) -> LoadedModel:
    """A model file opened with ``load_model_file``, or a run just trained (not saved yet)."""
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, TrainingRun):
        if not model.has_model:
            raise MfgError(tr("This run has no trained model to score with."), hint=tr("Train it first."))
        manifest = {"app_version": __version__, "created": model.created, "run_id": model.id}
        return LoadedModel(run=model, manifest=manifest, path=None)  # type: ignore[arg-type]
    raise TypeError(f"not a model: {type(model).__name__}")


def model_card(model: LoadedModel | TrainingRun) -> dict[str, Any]:
    """What a user needs to know about a model before trusting its scores (plain values)."""
    loaded = as_loaded_model(model)
    run = loaded.run
    fitted = run.fitted
    fingerprint = dict(run.data_fingerprint or {})
    return {
        "path": str(loaded.path) if loaded.path is not None else None,
        "task": run.task,
        "target": fitted.label_mapping.name,
        "classes": list(run.classes),
        "positive_class": fitted.label_mapping.positive_class,
        "inputs": list(run.recipe.inputs),
        "required_columns": fitted.required_columns(),
        "derived": [f"{d.name} = {d.expression}" for d in run.recipe.derived],
        "fingerprint": fingerprint.get("frame_sha256"),
        "training_rows": fingerprint.get("rows"),
        "training_files": [f.get("name") for f in fingerprint.get("files", [])],
        "metrics": dict(run.metrics),
        "threshold": _threshold(loaded),
        "created": loaded.manifest.get("created") or run.created,
        "app_version": loaded.manifest.get("app_version") or run.versions.get("mfg_desktop"),
        "run_id": run.id,
        "device": run.device,
        # the history set-up in words (entity, order, label, windows), None for a model on flat rows
        "history": HistorySpec.from_dict(run.history_spec).describe() if run.history_spec else None,
    }


def model_card_text(model: LoadedModel | TrainingRun) -> str:
    card = model_card(model)
    lines = [tr("model: {path}", path=card["path"] or tr("(trained in this session, not saved)"))]
    task = tr("task: {task}, target {target}", task=card["task"], target=repr(card["target"]))
    if card["classes"]:
        task = tr("{task}, classes {classes}", task=task, classes=", ".join(map(repr, card["classes"])))
    lines.append(task)
    lines.append(tr("inputs ({count}): {names}", count=len(card["inputs"]), names=", ".join(card["inputs"])))
    if card["derived"]:
        lines.append(tr("derived: {formulas}", formulas="; ".join(card["derived"])))
    files = ", ".join(n for n in card["training_files"] if n)
    fingerprint = str(card["fingerprint"])[:12]
    lines.append(tr("training data: {rows} rows from {files}, fingerprint {fingerprint}", rows=card["training_rows"],
                    files=files, fingerprint=fingerprint) if files else
                 tr("training data: {rows} rows, fingerprint {fingerprint}", rows=card["training_rows"],
                    fingerprint=fingerprint))
    if card["metrics"]:
        lines.append(tr("metrics: {numbers}", numbers=", ".join(f"{k} {v:.4f}" for k, v in card["metrics"].items())))
    if card["threshold"] is not None:
        lines.append(tr("threshold: {threshold} on p({positive})", threshold=format_threshold(card["threshold"]),
                        positive=card["positive_class"]))
    lines.append(tr("created: {created} with mfg-desktop {version}", created=card["created"],
                    version=card["app_version"]))
    return "\n".join(lines)


def _threshold(loaded: LoadedModel) -> float | None:
    if loaded.task != BINARY:
        return None
    return 0.5 if loaded.run.threshold is None else float(loaded.run.threshold)


# --------------------------------------------------------------------------------------------
# column matching and the schema report


def _normal(name: str) -> str:
    return str(name).strip().casefold()


@dataclass
class ColumnMatch:
    """Which file column serves each required column."""

    mapping: dict[str, str]  # required name -> file column
    renamed: dict[str, str]  # required name -> file column, where they differ in case/spaces only
    missing: list[str]
    extra: list[str]
    ambiguous: dict[str, list[str]]  # required name -> several case/space variants in the file


def match_columns(required: Sequence[str], columns: Sequence[str]) -> ColumnMatch:
    """Exact names first; else the one file column equal after ``strip().casefold()``."""
    columns = [str(c) for c in columns]
    mapping: dict[str, str] = {}
    renamed: dict[str, str] = {}
    missing: list[str] = []
    ambiguous: dict[str, list[str]] = {}
    exact = set(columns)
    for name in required:
        if name in exact:
            mapping[name] = name
            continue
        candidates = [c for c in columns if _normal(c) == _normal(name) and c not in required]
        if len(candidates) == 1:
            mapping[name] = renamed[name] = candidates[0]
        else:
            missing.append(name)
            if candidates:
                ambiguous[name] = candidates
    used = set(mapping.values())
    extra = [c for c in columns if c not in used]
    return ColumnMatch(mapping, renamed, missing, extra, ambiguous)


@dataclass
class ValueProblem:
    """Rows of one column that cannot be used as the model needs them."""

    column: str
    expected: str  # "number" | "date/time"
    rows: int = 0
    examples: list[str] = field(default_factory=list)
    first_row: int | None = None  # 1-based data row

    def text(self) -> str:
        shown = ", ".join(repr(e) for e in self.examples)
        return tr("{column} should hold a {expected}, but {rows} with other values "
                  "(e.g. {examples}; first at data row {first_row}) are not scored", column=repr(self.column),
                  expected=tr(KIND_TEXT.get(self.expected, self.expected)), rows=_rows(self.rows), examples=shown,
                  first_row=self.first_row)


@dataclass
class UnseenCategories:
    column: str
    rows: int = 0
    values: dict[str, int] = field(default_factory=dict)  # the first MAX_TRACKED_VALUES distinct

    def text(self) -> str:
        top = sorted(self.values.items(), key=lambda kv: -kv[1])[:5]
        shown = ", ".join(f"{k!r} ({_rows(v)})" for k, v in top)
        more = len(self.values) - len(top)
        if more > 0:
            shown = tr("{values} and {more} more", values=shown, more=more)
        return tr("{column} has {rows} with categories not seen in training: {values}; they count as no known "
                  "category, as in training", column=repr(self.column), rows=_rows(self.rows), values=shown)


@dataclass
class SchemaReport:
    """The file against the model's input schema; one per file, readable as plain text."""

    file: str
    columns: list[str]
    required: list[str]
    missing: list[str]
    extra: list[str]
    renamed: dict[str, str]
    ambiguous: dict[str, list[str]]
    wrong_types: dict[str, ValueProblem] = field(default_factory=dict)
    unseen: dict[str, UnseenCategories] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    @property
    def usable(self) -> bool:
        """False when a required column is missing: nothing in the file can be scored."""
        return not self.missing

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.missing:
            ambiguous = "".join(" " + tr("({name} matches several columns: {candidates})", name=repr(name),
                                         candidates=", ".join(map(repr, candidates)))
                                for name, candidates in self.ambiguous.items())
            out.append(tr("missing required column(s): {columns}{ambiguous}; the file cannot be scored",
                          columns=", ".join(repr(c) for c in self.missing), ambiguous=ambiguous))
        for name, used in self.renamed.items():
            out.append(tr("column {used} used for {name} (the names differ only in case or spaces)", used=repr(used),
                          name=repr(name)))
        if self.extra:
            shown = ", ".join(repr(c) for c in self.extra[:12]) + (" ..." if len(self.extra) > 12 else "")
            extra = (N_("{count} extra column(s) ignored (kept in the output): {columns}") if self.usable
                     else N_("{count} extra column(s) ignored: {columns}"))
            out.append(tr(extra, count=len(self.extra), columns=shown))
        out += [p.text() for p in self.wrong_types.values()]
        out += [u.text() for u in self.unseen.values()]
        for name, count in self.missing_values.items():
            if count:
                share = count / self.rows if self.rows else 0.0
                out.append(tr("{column}: {count:,} missing values ({share:.1%})", column=repr(name), count=count,
                              share=share))
        return out

    def summary(self) -> str:
        head = f"{Path(self.file).name}: " + (
            tr("schema OK") if self.usable and not self.wrong_types else
            (tr("REJECTED") if not self.usable else tr("schema problems"))
        )
        body = self.lines()
        return "\n".join([head, *(f"  - {line}" for line in body)])


# --------------------------------------------------------------------------------------------
# drift


@dataclass
class ColumnDrift:
    column: str
    kind: str  # "number" | "text" | "datetime"
    rows: int = 0  # rows scored
    missing: int = 0
    train_missing_share: float = 0.0
    below: int = 0
    above: int = 0
    train_min: float | None = None
    train_max: float | None = None
    psi: float | None = None
    flagged: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def present(self) -> int:
        return self.rows - self.missing

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def out_of_range(self) -> int:
        return self.below + self.above

    @property
    def out_of_range_share(self) -> float:
        return self.out_of_range / self.present if self.present else 0.0


@dataclass
class DriftReport:
    columns: list[ColumnDrift]
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.flagged]

    def lines(self) -> list[str]:
        return [tr("drift in {column}: {reasons}", column=repr(c.column), reasons="; ".join(c.reasons))
                for c in self.flagged] + self.notes


class _DriftCounter:
    """Running counts for one input column, turned into a :class:`ColumnDrift` at the end."""

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self.entry = entry
        self.kind = str(entry.get("dtype", "number"))
        dist = entry.get("distribution") or {}
        self.edges = np.asarray(dist.get("edges", []), dtype=np.float64) if "edges" in dist else None
        self.train_shares = np.asarray(dist.get("shares", []), dtype=np.float64) if "shares" in dist else None
        self.train_categories: dict[str, float] | None = dist.get("categories")
        self.bins = np.zeros(len(self.edges) + 1 if self.edges is not None else 0, dtype=np.int64)
        self.categories: dict[str, int] = {}
        self.result = ColumnDrift(
            column=str(entry["name"]), kind=self.kind,
            train_missing_share=float(entry.get("missing_share") or 0.0),
            train_min=_opt_float(entry.get("min")) if self.kind == "number" else None,
            train_max=_opt_float(entry.get("max")) if self.kind == "number" else None,
        )

    def add_numbers(self, x: np.ndarray) -> None:
        r = self.result
        present = x[~np.isnan(x)]
        r.rows += len(x)
        r.missing += len(x) - len(present)
        if r.train_min is not None:
            r.below += int(np.count_nonzero(present < r.train_min))
        if r.train_max is not None:
            r.above += int(np.count_nonzero(present > r.train_max))
        if self.edges is not None:
            self.bins += np.bincount(np.searchsorted(self.edges, present, side="right"), minlength=len(self.bins))

    def add_categories(self, texts: np.ndarray) -> None:
        """Canonical category texts (object array, NaN for missing)."""
        r = self.result
        missing = pd.isna(texts)
        r.rows += len(texts)
        r.missing += int(missing.sum())
        for value, count in pd.Series(texts[~missing], dtype=object).value_counts().items():
            self.categories[str(value)] = self.categories.get(str(value), 0) + int(count)

    def add_missing_only(self, missing: np.ndarray) -> None:
        self.result.rows += len(missing)
        self.result.missing += int(np.count_nonzero(missing))

    def finish(self) -> ColumnDrift:
        r = self.result
        r.reasons = []
        if r.kind == "number" and self.train_shares is not None and r.present:
            r.psi = psi(self.train_shares, self.bins / r.present)
        elif r.kind == "text" and self.train_categories is not None and r.present:
            names = sorted(set(self.train_categories) | set(self.categories))
            expected = np.array([self.train_categories.get(n, 0.0) for n in names])
            actual = np.array([self.categories.get(n, 0) for n in names], dtype=np.float64) / r.present
            r.psi = psi(expected, actual)
        if r.kind == "datetime":
            return r
        if r.psi is not None and r.present >= MIN_ROWS_FOR_PSI and r.psi > PSI_FLAG:
            r.reasons.append(tr("distribution shifted (PSI {psi:.2f} > {limit})", psi=r.psi, limit=PSI_FLAG))
        if r.present and r.out_of_range_share > OUT_OF_RANGE_FLAG:
            r.reasons.append(
                tr("{share:.1%} of values outside the training range [{low}, {high}] ({below:,} below, {above:,} above)",
                   share=r.out_of_range_share, low=_num(r.train_min), high=_num(r.train_max), below=r.below,
                   above=r.above)
            )
        if r.rows and r.missing_share > r.train_missing_share + MISSING_RISE_FLAG:
            r.reasons.append(tr("{share:.1%} missing (training: {training:.1%})", share=r.missing_share,
                                training=r.train_missing_share))
        r.flagged = bool(r.reasons)
        return r


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of ``actual`` shares against ``expected`` shares (same bins)."""
    p = np.maximum(np.asarray(actual, dtype=np.float64), PSI_FLOOR)
    q = np.maximum(np.asarray(expected, dtype=np.float64), PSI_FLOOR)
    return float(np.sum((p - q) * np.log(p / q)))


def _rows(n: int) -> str:
    return trn("{n:,} row", "{n:,} rows", n)


# the kinds of value a column should hold, as the schema messages name them
KIND_TEXT = {"number": N_("number"), "date/time": N_("date/time")}
# the summary of predicted values, as its lines name them (p5/p95 read the same everywhere)
VALUE_TEXT = {"min": N_("min"), "median": N_("median"), "mean": N_("mean"), "max": N_("max")}


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _num(v: float | None) -> str:
    return "?" if v is None else f"{v:.6g}"


# --------------------------------------------------------------------------------------------
# converting raw columns


def _trimmed_text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Text with surrounding spaces removed and the spellings of "missing" made null."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.is_in(t, value_set=_NULL_SET), pa.scalar(None, pa.string()), t)


def _parse_numbers(col: pa.ChunkedArray | pa.Array, decimal: str, thousands: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values with NaN for missing and non-finite, mask of present values that are no number)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    kind = col.type
    n = len(col)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        x = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        x = np.where(np.isfinite(x), x, np.nan)
        return x, np.zeros(n, dtype=bool)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        present = pc.is_valid(col).to_numpy(zero_copy_only=False)
        return np.full(n, np.nan), present
    text = _trimmed_text(col)
    numbers = text
    misgrouped = None
    if thousands:
        # '42,8' among '1,234.5': stripping the ',' would score 428; the row is rejected instead
        wrong, _grouped = misgrouped_numbers(text, thousands, decimal)
        if pc.any(wrong).as_py():
            misgrouped = wrong.to_numpy(zero_copy_only=False)
            numbers = pc.if_else(wrong, pa.scalar("#misgrouped", pa.string()), numbers)
    for variant in _THOUSANDS_VARIANTS.get(thousands or "", ()):
        numbers = pc.replace_substring(numbers, variant, "")
    if decimal == ",":
        numbers = pc.replace_substring(numbers, ",", ".")
    bad = np.zeros(n, dtype=bool)
    try:
        values = pc.cast(numbers, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Slow path, only for a chunk holding a value that is no number: find those rows.
        lower = pc.utf8_lower(numbers)
        numbers = pc.if_else(pc.equal(lower, "true"), "1", pc.if_else(pc.equal(lower, "false"), "0", numbers))
        ok = pc.match_substring_regex(numbers, _FLOAT_RE)
        usable = pc.fill_null(ok, False)
        values = pc.cast(pc.if_else(usable, numbers, pa.scalar(None, pa.string())), pa.float64())
        bad = pc.and_(pc.is_valid(numbers), pc.invert(usable)).to_numpy(zero_copy_only=False)
    x = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    x = np.where(np.isfinite(x), x, np.nan)
    bad = np.asarray(bad, dtype=bool)
    return x, bad if misgrouped is None else bad | misgrouped


def _parse_times(col: pa.ChunkedArray | pa.Array) -> tuple[pd.Series, np.ndarray]:
    """(datetime64 Series with NaT for missing, mask of present values that are no date/time)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    if pa.types.is_timestamp(col.type):
        return pd.Series(col.to_pandas()), np.zeros(n, dtype=bool)
    if not pa.types.is_string(col.type):
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"), pc.is_valid(col).to_numpy(
            zero_copy_only=False)
    text = _trimmed_text(col).to_pandas()
    present = text.notna().to_numpy()
    times = _to_datetime(text)
    bad = present & times.isna().to_numpy()
    return times, bad


def _to_datetime(text: pd.Series) -> pd.Series:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            out = pd.to_datetime(text, errors="coerce")
        except (ValueError, TypeError):
            out = pd.to_datetime(text, errors="coerce", utc=True)
        if out.isna().sum() > text.isna().sum():
            retry = out.isna() & text.notna()
            try:
                again = pd.to_datetime(text[retry], errors="coerce", format="mixed")
                out = out.copy()
                out[retry] = again
            except (ValueError, TypeError):
                pass
    return out


def _category_texts(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Canonical category text per row (as the recipe makes it), NaN for missing."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_string(col.type):
        series = _trimmed_text(col).to_pandas()
    else:
        series = pd.Series(col.to_pandas())
    positions, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = []
    for u in uniques:
        u = u.item() if isinstance(u, np.generic) else u
        if isinstance(u, float) and u.is_integer() and abs(u) < 2**53:
            u = int(u)
        t = u.strip() if isinstance(u, str) else str(u)
        texts.append(t if t else np.nan)
    canonical = np.array([*texts, np.nan], dtype=object)
    return canonical[positions]


def _arrow_table(df: pd.DataFrame) -> pa.Table:
    arrays = []
    for name in df.columns:
        s = df[name]
        try:
            array = pa.array(s, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array([None if pd.isna(v) else str(v) for v in s], pa.string())
        if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
            array = array.cast(pa.string())
        arrays.append(array)
    return pa.table(arrays, names=[str(c) for c in df.columns])


# --------------------------------------------------------------------------------------------
# checking and converting one chunk


@dataclass
class RejectReason:
    key: str  # "type:<column>", "none:<column>" or "transform:<message>"
    text: str
    rows: int = 0
    first_row: int | None = None


class _Checker:
    """Applies the schema check to chunks and builds the frames the fitted recipe reads."""

    def __init__(self, loaded: LoadedModel, file: str, columns: Sequence[str],
                 settings: FileSettings | None = None) -> None:
        self.loaded = loaded
        self.fitted = loaded.fitted
        self.recipe = self.fitted.recipe
        self.schema = {e["name"]: e for e in self.fitted.input_schema()}
        self.required = self.fitted.required_columns()
        self.decimal = settings.decimal if settings is not None else "."
        self.thousands = settings.thousands if settings is not None else None
        match = match_columns(self.required, columns)
        self.match = match
        self.report = SchemaReport(
            file=str(file), columns=[str(c) for c in columns], required=list(self.required),
            missing=match.missing, extra=match.extra, renamed=match.renamed, ambiguous=match.ambiguous,
            missing_values={name: 0 for name in self.required},
        )
        self.drift = {name: _DriftCounter(entry) for name, entry in self.schema.items()}
        self.rejects: dict[str, RejectReason] = {}
        self.chunk_reasons: list[tuple[str, np.ndarray]] = []  # the current chunk's, per row mask
        # Inputs whose recipe cannot fill a gap: a missing value there means the row cannot be scored.
        self.no_imputation = [
            name for name in self.recipe.inputs
            if self.recipe.plan(name).role in ("numeric", "datetime") and self.recipe.plan(name).impute == "none"
        ]

    def reject(self, key: str, text: str, mask: np.ndarray, first_row: int) -> None:
        count = int(np.count_nonzero(mask))
        if not count:
            return
        reason = self.rejects.setdefault(key, RejectReason(key, text))
        reason.rows += count
        self.chunk_reasons.append((text, mask))
        if reason.first_row is None:
            reason.first_row = first_row + int(np.argmax(mask)) + 1

    def frame(self, table: pa.Table, first_row: int) -> tuple[pd.DataFrame, np.ndarray]:
        """The model's raw input frame for a chunk and the mask of rows to reject.

        ``first_row``: 0-based position of the chunk's first row in the file.
        """
        n = table.num_rows
        self.report.rows += n
        self.chunk_reasons = []
        bad = np.zeros(n, dtype=bool)
        data: dict[str, Any] = {}
        for name in self.required:
            entry = self.schema[name]
            col = table.column(self.match.mapping[name])
            dtype = entry.get("dtype", "number")
            if dtype == "text":
                texts = _category_texts(col)
                missing = pd.isna(texts)
                known = set(entry.get("categories") or [])
                unseen = ~missing & ~pd.Series(texts, dtype=object).isin(known).to_numpy()
                if unseen.any():
                    record = self.report.unseen.setdefault(name, UnseenCategories(name))
                    record.rows += int(unseen.sum())
                    for value, count in pd.Series(texts[unseen], dtype=object).value_counts().items():
                        if value in record.values or len(record.values) < MAX_TRACKED_VALUES:
                            record.values[str(value)] = record.values.get(str(value), 0) + int(count)
                data[name] = pd.Series(texts, dtype=object)
            elif dtype == "datetime":
                times, wrong = _parse_times(col)
                missing = times.isna().to_numpy() & ~wrong
                self._wrong_type(name, "date/time", col, wrong, first_row)
                bad |= wrong
                data[name] = times.reset_index(drop=True)
            else:
                x, wrong = _parse_numbers(col, self.decimal, self.thousands)
                missing = np.isnan(x) & ~wrong
                self._wrong_type(name, "number", col, wrong, first_row)
                bad |= wrong
                data[name] = x
            self.report.missing_values[name] += int(np.count_nonzero(missing))
        frame = pd.DataFrame(data, index=pd.RangeIndex(n))
        if self.recipe.derived or self.no_imputation:
            full = apply_derived(frame, self.recipe.derived) if self.recipe.derived else frame
            for name in self.no_imputation:
                values = full[name]
                holes = values.isna().to_numpy() & ~bad
                self.reject(f"none:{name}", tr("{column} is missing, and the model was trained without filling it in",
                                                column=repr(name)), holes, first_row)
                bad |= holes
            self._derived = full
        else:
            self._derived = frame
        return frame, bad

    def _wrong_type(self, name: str, expected: str, col: pa.Array | pa.ChunkedArray, wrong: np.ndarray,
                    first_row: int) -> None:
        if not wrong.any():
            return
        problem = self.report.wrong_types.setdefault(name, ValueProblem(name, expected))
        problem.rows += int(wrong.sum())
        if problem.first_row is None:
            problem.first_row = first_row + int(np.argmax(wrong)) + 1
        if len(problem.examples) < MAX_EXAMPLES:
            values = pa.array(col).filter(pa.array(wrong)).to_pylist()
            for v in values:
                text = str(v)
                if text not in problem.examples:
                    problem.examples.append(text)
                if len(problem.examples) >= MAX_EXAMPLES:
                    break
        self.reject(f"type:{name}", tr("{column} is not a {expected}", column=repr(name),
                                       expected=tr(KIND_TEXT.get(expected, expected))), wrong, first_row)

    def row_reasons(self, n: int) -> np.ndarray:
        """Per row of the current chunk: why it is rejected (None where it is not)."""
        reasons = np.full(n, None, dtype=object)
        for text, mask in self.chunk_reasons:
            rows = np.flatnonzero(mask)
            reasons[rows] = [text if r is None else f"{r}; {text}" for r in reasons[rows]]
        return reasons

    def add_drift(self, keep: np.ndarray) -> None:
        """Count the rows scored (``keep``) into the drift statistics."""
        full = self._derived
        for name, counter in self.drift.items():
            if name not in full.columns:
                continue
            values = full[name][keep]
            if counter.kind == "text":
                counter.add_categories(np.asarray(values.to_numpy(), dtype=object))
            elif counter.kind == "datetime":
                counter.add_missing_only(values.isna().to_numpy())
            else:
                counter.add_numbers(np.asarray(pd.to_numeric(values, errors="coerce"), dtype=np.float64))

    def drift_report(self) -> DriftReport:
        columns = [c.finish() for c in self.drift.values()]
        notes = []
        if any(c.kind == "number" and counter.train_shares is None for c, counter in
               zip(columns, self.drift.values(), strict=True)):
            notes.append(tr("the model file holds no training distribution (saved by an older version): "
                            "drift is judged from the training range and missing values only"))
        return DriftReport(columns, notes)


def check_schema(model: LoadedModel | TrainingRun, data: pd.DataFrame | Sequence[str],
                 file: str | Path = "(data)", settings: FileSettings | None = None) -> SchemaReport:
    """Check a frame (or just column names) against the model's input schema.

    With a frame, values are checked too: wrong types (examples, row counts), unseen categories,
    missing values. Never raises for a problem of the data; read the report.
    """
    loaded = as_loaded_model(model)
    if isinstance(data, pd.DataFrame):
        checker = _Checker(loaded, str(file), [str(c) for c in data.columns], settings)
        if checker.report.usable:
            checker.frame(_arrow_table(data), 0)
        return checker.report
    return _Checker(loaded, str(file), [str(c) for c in data], settings).report


def _transform_rows(fitted: Any, frame: pd.DataFrame, budget: list[int]) -> tuple[np.ndarray, dict[int, str]]:
    """The model matrix of the rows that can be transformed, and a reason for each that cannot.

    Rows the schema check let through rarely fail (a value beyond float32's range, say); when a
    chunk does, halving it finds the rows, so one odd row costs a few transforms, not the file.
    """
    try:
        return fitted.transform(frame), {}
    except DataError as exc:
        if len(frame) == 1:
            budget[0] -= 1
            if budget[0] < 0:
                raise
            return np.zeros((0, fitted.n_features), dtype=np.float32), {0: exc.message}
        half = len(frame) // 2
        xa, ra = _transform_rows(fitted, frame.iloc[:half], budget)
        xb, rb = _transform_rows(fitted, frame.iloc[half:], budget)
        return np.vstack([xa, xb]), {**ra, **{k + half: v for k, v in rb.items()}}


# --------------------------------------------------------------------------------------------
# scoring a file


@dataclass
class ScoreOptions:
    read: ReadOptions | None = None  # how to read every file (None: detect per file)
    format: str = "csv"  # "csv" or "xlsx" (Excel: files up to EXCEL_MAX_ROWS rows, else CSV)
    keep_flagged: int = KEEP_FLAGGED
    keep_preview: int = KEEP_PREVIEW


@dataclass
class FileScore:
    """What happened to one file: counts, reasons, predictions, schema and drift, the output."""

    path: Path
    task: str
    status: str = "rejected"  # "scored" | "partial" (some rows rejected) | "rejected"
    output: Path | None = None
    error: str | None = None
    rows_read: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    rejects: list[RejectReason] = field(default_factory=list)
    schema: SchemaReport | None = None
    drift: DriftReport | None = None
    classes: list[Any] = field(default_factory=list)
    class_counts: dict[Any, int] = field(default_factory=dict)
    threshold: float | None = None
    positive_class: Any = None
    flagged_count: int = 0
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    histogram: tuple[np.ndarray, np.ndarray] | None = None
    value_summary: dict[str, float] = field(default_factory=dict)
    flagged: pd.DataFrame | None = None  # the first flagged rows (binary), with their file row number
    preview: pd.DataFrame | None = None  # the first rows of the output, with their file row number
    output_columns: list[str] = field(default_factory=list)  # the columns the model added
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # history models: the per-entity summary (as in <name>_entities.csv) and, for the per-entity plot,
    # every row's entity, order, windowed inputs and score (not the whole scored table)
    entities: pd.DataFrame | None = field(default=None, repr=False)
    history_rows: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"

    @property
    def score_label(self) -> str:
        if self.task == BINARY:
            return f"p({self.positive_class})"
        return tr("probability of the predicted class") if self.task == MULTICLASS else tr("predicted value")

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.error:
            out.append(self.error)
        if self.schema is not None:
            out += self.schema.lines()
        for reason in self.rejects:
            if not reason.key.startswith("type:"):  # wrong types are told by the schema lines
                out.append(_reject_text(reason))
        if self.rows_scored:
            if self.task == REGRESSION:
                s = self.value_summary
                out.append(tr("predicted values: {values}",
                              values=", ".join(f"{tr(VALUE_TEXT.get(k, k))} {_num(v)}" for k, v in s.items())))
            else:
                total = max(self.rows_scored, 1)
                out.append(tr("predicted: {counts}", counts=", ".join(
                    f"{c}: {n:,} ({n / total:.1%})" for c, n in self.class_counts.items())))
                if self.task == BINARY:
                    out.append(tr("flagged (p({positive}) >= {threshold}): {count:,}", positive=self.positive_class,
                                  threshold=format_threshold(self.threshold), count=self.flagged_count))
        if self.drift is not None:
            out += self.drift.lines()
        out += self.notes
        return out

    def to_dict(self, max_flagged_rows: int = SUMMARY_FLAGGED_ROWS, max_input_columns: int = 6) -> dict[str, Any]:
        """A JSON-able summary of this file's scoring (what the batch report shows): counts, schema
        and drift findings, and the first flagged rows with a few input columns."""
        drift = []
        if self.drift is not None:
            for c in self.drift.columns:
                drift.append({"column": c.column, "kind": c.kind, "rows": c.rows, "psi": _opt_float(c.psi),
                              "out_of_range_share": c.out_of_range_share, "missing_share": c.missing_share,
                              "flagged": bool(c.flagged), "reasons": list(c.reasons)})
        flagged: dict[str, Any] = {"columns": [], "rows": []}
        if self.flagged is not None and len(self.flagged):
            added = set(self.output_columns)
            required = list(self.schema.required) if self.schema is not None else []
            renamed = self.schema.renamed if self.schema is not None else {}
            inputs = [renamed.get(c, c) for c in required][:max_input_columns]
            # identifiers kept in the scored file (UDI, Product ID), so a flagged row can be found on the line
            ids = [c for c in self.flagged.columns if c != "row" and c not in added and c not in set(inputs)
                   and identifier_name(c)][:MAX_SUMMARY_ID_COLUMNS]
            wanted = ["row", *ids, *(c for c in self.output_columns if c in ("probability", "prediction")),
                      *(c for c in inputs if c not in added)]
            columns = [c for c in wanted if c in self.flagged.columns]
            part = self.flagged[columns].head(max_flagged_rows)
            flagged = {"columns": columns,
                       "rows": [[_json_value(v) for v in row] for row in part.itertuples(index=False, name=None)]}
        return {
            "file": self.path.name,
            "path": str(self.path),
            "status": self.status,
            "output": str(self.output) if self.output is not None else None,
            "error": self.error,
            "task": self.task,
            "rows_read": self.rows_read,
            "rows_scored": self.rows_scored,
            "rows_rejected": self.rows_rejected,
            "rejects": [_reject_text(r) for r in self.rejects if not r.key.startswith("type:")],
            "schema": self.schema.lines() if self.schema is not None else [],
            "drift": drift,
            "drift_notes": list(self.drift.notes) if self.drift is not None else [],
            "class_counts": {str(k): int(v) for k, v in self.class_counts.items()},
            "threshold": _opt_float(self.threshold),
            "positive_class": _json_value(self.positive_class),
            "flagged_count": int(self.flagged_count),
            "flagged_rows": flagged,
            "value_summary": {k: float(v) for k, v in self.value_summary.items()},
            "notes": list(self.notes),
            "seconds": float(self.seconds),
        }

    def summary(self) -> str:
        name = self.path.name
        if self.status == "rejected":
            head = tr("{name}: REJECTED, nothing scored", name=name)
        else:
            head = tr("{name}: scored {scored:,} of {read:,} rows", name=name, scored=self.rows_scored,
                      read=self.rows_read)
            if self.rows_rejected:
                head = tr("{head} ({rejected:,} rejected)", head=head, rejected=self.rows_rejected)
            if self.output is not None:
                head += f" -> {self.output}"
            head += "  [" + tr("{seconds:.1f} s", seconds=self.seconds) + "]"
        return "\n".join([head, *(f"  - {line}" for line in self.lines())])


def _reject_text(reason: RejectReason) -> str:
    return tr("{rows} rejected: {reason} (first at data row {first_row})", rows=_rows(reason.rows), reason=reason.text,
              first_row=reason.first_row)


MAX_SUMMARY_ID_COLUMNS = 3


def _json_value(v: Any) -> Any:
    """A cell as a plain JSON value (NaN/NA as None)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v if isinstance(v, str | int | float | bool) else str(v)


def summary_path(path: str | Path, out_dir: str | Path, output: str | Path | None = None) -> Path:
    """``<out_dir>/<stem>_scored.summary.json``: the summary the predict command writes per file
    (named after ``output`` when given: ``<stem>_scored_2.summary.json`` for a second version)."""
    stem = Path(output).stem if output is not None else f"{Path(path).stem}{SCORED_SUFFIX}"
    return Path(out_dir) / f"{stem}{SUMMARY_SUFFIX}"


def write_score_summary(result: FileScore, out_dir: str | Path, model_id: str | None = None) -> Path:
    """Write ``result.to_dict()`` (plus the model id, the input's sha256 and the time) next to the
    scored output, atomically; a batch report reads these back (``mfg-desktop report --predictions``)."""
    import hashlib
    import json
    from datetime import datetime

    data = result.to_dict()
    data["model_id"] = model_id
    data["scored_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        h = hashlib.sha256()
        with open(result.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        data["sha256"] = h.hexdigest()
    except OSError:
        data["sha256"] = None
    target = summary_path(result.path, out_dir, result.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False).encode("utf-8")
    try:
        write_bytes_atomic(target, payload)
    except OSError as exc:
        raise _write_error(exc, target) from None
    return target


def read_score_summaries(folder: str | Path) -> list[dict[str, Any]]:
    """The summaries written by :func:`write_score_summary` in ``folder``, sorted by file name."""
    import json

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(tr("the predictions folder does not exist."), file=folder,
                        hint=tr("Give the folder that `mfg-desktop predict --out` wrote into."))
    summaries = []
    for p in sorted(folder.glob(f"*{SCORED_SUFFIX}*{SUMMARY_SUFFIX}")):
        if not _SCORED_STEM.search(p.name[: -len(SUMMARY_SUFFIX)]):
            continue
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(tr("the scoring summary cannot be read ({reason}).", reason=exc), file=p,
                            hint=tr("Score the file again with `mfg-desktop predict`.")) from None
        if not isinstance(data, dict) or "file" not in data or "status" not in data:
            raise DataError(tr("this is not a scoring summary written by mfg-desktop."), file=p)
        summaries.append(data)
    return summaries


def output_path(path: str | Path, out_dir: str | Path, fmt: str = "csv", version: int = 1) -> Path:
    """``<out_dir>/<stem>_scored.<csv|xlsx>``; ``<stem>_scored_<version>.<csv|xlsx>`` from version 2
    (a watched file scored again after it changed keeps its earlier output)."""
    path = Path(path)
    tail = f"_{version}" if version > 1 else ""
    return Path(out_dir) / f"{path.stem}{SCORED_SUFFIX}{tail}.{fmt}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _check_output(target: Path, inputs: Iterable[Path]) -> None:
    for source in inputs:
        if _same_file(target, Path(source)):
            raise DataError(
                tr("the output would overwrite an input file; inputs are never modified."),
                file=target,
                hint=tr("Choose another output folder."),
            )


def _unique(name: str, taken: set[str]) -> str:
    while name in taken:
        name += " (model)"
    taken.add(name)
    return name


class _Outputs:
    """The columns the model adds to each output row, and their names (never clashing with inputs)."""

    def __init__(self, loaded: LoadedModel, columns: Sequence[str]) -> None:
        taken = set(map(str, columns))
        self.task = loaded.task
        self.classes = list(loaded.classes)
        self.threshold = _threshold(loaded)
        self.labels = pa.array([_label_text(c) for c in self.classes]) if self.classes else None
        self.prediction = _unique("prediction", taken)
        self.probability = _unique("probability", taken) if self.task != REGRESSION else None
        self.per_class = [_unique(f"p({c})", taken) for c in self.classes] if self.task == MULTICLASS else []
        self.flag = _unique("flag", taken) if self.task == BINARY else None
        self.rejected = _unique("rejected", taken)

    @property
    def names(self) -> list[str]:
        return [n for n in (self.prediction, self.probability, *self.per_class, self.flag, self.rejected) if n]

    def arrays(self, n: int, keep: np.ndarray, out: np.ndarray, reasons: np.ndarray,
               decimal: str) -> tuple[list[pa.Array], np.ndarray, np.ndarray | None]:
        """Output arrays for ``n`` rows (nulls where rejected), the scores and the class codes."""
        rejected = ~keep
        arrays: list[pa.Array] = []
        codes = None
        if self.task == REGRESSION:
            values = np.zeros(n)
            values[keep] = out
            arrays.append(_floats(values, rejected, decimal))
            scores = out.astype(np.float32)
        else:
            if self.task == BINARY:
                p = out[:, 1]
                codes = (p >= self.threshold).astype(np.int64)
                scores = p.astype(np.float32)
            else:
                codes = out.argmax(axis=1)
                scores = out.max(axis=1).astype(np.float32)
            full_codes = np.zeros(n, dtype=np.int64)
            full_codes[keep] = codes
            arrays.append(pc.take(self.labels, pa.array(full_codes, mask=rejected)))
            full = np.zeros(n)
            # the file gets the full float64 score (calibrated scores and trees are float64, not the
            # network's float32); the summary statistics keep float32
            full[keep] = out[:, 1] if self.task == BINARY else out.max(axis=1)
            arrays.append(_floats(full, rejected, decimal))
            for i in range(len(self.per_class)):
                column = np.zeros(n)
                column[keep] = out[:, i]
                arrays.append(_floats(column, rejected, decimal))
            if self.flag:
                flag = np.zeros(n, dtype=np.int8)
                flag[keep] = codes
                arrays.append(pa.array(flag, mask=rejected))
        arrays.append(pa.array(reasons, pa.string(), from_pandas=True))
        return arrays, scores, codes


def _label_text(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def _floats(values: np.ndarray, null: np.ndarray, decimal: str) -> pa.Array:
    array = pa.array(values, mask=null)
    if decimal == ",":  # the rest of the file writes 12,5: so do the model's columns
        return pc.replace_substring(pc.cast(array, pa.string()), ".", ",")
    return array


def _printable(table: pa.Table) -> pa.Table:
    """Timestamps as ``2026-03-02 06:00:00`` rather than Arrow's nanosecond text."""
    if not any(pa.types.is_timestamp(f.type) for f in table.schema):
        return table
    arrays = [pc.strftime(c, format="%Y-%m-%d %H:%M:%S") if pa.types.is_timestamp(c.type) else c
              for c in table.columns]
    return pa.table(arrays, names=table.column_names)


def score_file(
    model: LoadedModel | TrainingRun,
    path: str | Path,
    out_dir: str | Path,
    options: ScoreOptions | None = None,
    state: JobState | None = None,
    chunk_rows: int = CHUNK_ROWS,
    *,
    protected: Iterable[str | Path] = (),
    progress_span: tuple[float, float] = (0.0, 1.0),
    version: int = 1,
) -> FileScore:
    """Score one file into ``out_dir/<stem>_scored.csv`` (or ``.xlsx``), streaming in chunks.

    Expected problems of the file (unreadable, required columns missing, no row scoreable) come
    back as a rejected :class:`FileScore` with the reason; nothing is written then. Rows that
    cannot be scored are written with an empty prediction and the reason in the ``rejected``
    column. Cancel (``state``) removes the partial output and raises :class:`Cancelled`.
    ``protected``: further paths never to be written (the other inputs of a batch). ``version``:
    see :func:`output_path`.
    """
    loaded = as_loaded_model(model)
    options = options or ScoreOptions()
    if options.format not in OUTPUT_FORMATS:
        raise MfgError(tr("Unknown output format {format}; use csv or xlsx.", format=repr(options.format)))
    if loaded.run.history_spec:  # window features need whole histories: read whole, not streamed
        return score_history_file(loaded, path, out_dir, options, state, protected=protected,
                                  progress_span=progress_span)
    state = ensure_state(state)
    path = Path(path)
    out_dir = Path(out_dir)
    started = time.perf_counter()
    # Whole prediction batches per chunk: bit-identical to predicting the file in one go.
    chunk_rows = max(PREDICT_BATCH, math.ceil(int(chunk_rows) / PREDICT_BATCH) * PREDICT_BATCH)
    result = FileScore(path=path, task=loaded.task, classes=list(loaded.classes), threshold=_threshold(loaded),
                       positive_class=loaded.fitted.label_mapping.positive_class)
    final_csv = output_path(path, out_dir, "csv", version)
    final = output_path(path, out_dir, options.format, version)
    _check_output(final_csv, [path, *map(Path, protected)])
    _check_output(final, [path, *map(Path, protected)])
    start, span = progress_span
    state.set_progress(start, tr("Scoring {name}", name=path.name))
    try:
        settings, chunks = open_chunks(path, options.read, chunk_rows, state)
    except DataError as exc:
        result.error = str(exc.describe())
        result.seconds = time.perf_counter() - started
        return result
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(tr("the output folder cannot be created ({reason}).", reason=exc.strerror or exc),
                        file=out_dir) from None
    scratch: AtomicFile | None = None
    try:
        scratch = _score_stream(loaded, path, settings, chunks, final_csv, options, state, result, start, span)
        if scratch is None:
            return result
        _finish_output(scratch, final, options, result)
    except DataError as exc:
        result.status = "rejected"
        result.error = exc.describe()
        result.output = None
    finally:
        if scratch is not None:
            scratch.discard()  # a no-op once committed
        result.seconds = time.perf_counter() - started
    state.set_progress(start + span, tr("Scored {name}", name=path.name))
    return result


def _score_stream(loaded: LoadedModel, path: Path, settings: FileSettings, chunks: Iterable[tuple[pa.Table, float]],
                  final_csv: Path, options: ScoreOptions, state: JobState, result: FileScore, start: float,
                  span: float) -> AtomicFile | None:
    """Stream the file into a temporary CSV next to ``final_csv``; it, closed, or None when rejected."""
    fitted = loaded.fitted
    delimiter = settings.delimiter if settings.delimiter not in (None, WHITESPACE) else ","
    decimal = settings.decimal if delimiter != "," else "."
    checker: _Checker | None = None
    outputs: _Outputs | None = None
    wrote_header = False
    scratch: AtomicFile | None = None
    scores: list[np.ndarray] = []
    codes_total = np.zeros(len(loaded.classes), dtype=np.int64)
    flagged: list[pd.DataFrame] = []
    preview: list[pd.DataFrame] = []
    kept_flagged = kept_preview = 0
    budget = [MAX_BISECT_REJECTS]
    row0 = 0
    try:
        for table, done in chunks:
            state.check_cancelled()
            n = table.num_rows
            if checker is None:
                checker = _Checker(loaded, str(path), table.column_names, settings)
                result.schema = checker.report
                if not checker.report.usable:
                    return None
                outputs = _Outputs(loaded, table.column_names)
                result.output_columns = outputs.names
            frame, bad = checker.frame(table, row0)
            keep = ~bad
            out = np.zeros((0, len(loaded.classes))) if loaded.task != REGRESSION else np.zeros(0)
            if keep.any():
                rows = np.flatnonzero(keep)
                x, failed = _transform_rows(fitted, frame if not bad.any() else frame.iloc[rows], budget)
                if failed:
                    for local, message in failed.items():
                        mask = np.zeros(n, dtype=bool)
                        mask[rows[local]] = True
                        checker.reject(f"transform:{message}", message, mask, row0)
                    keep[rows[list(failed)]] = False
                if len(x):
                    out = loaded.run.predict_matrix(x)
            reasons = checker.row_reasons(n)
            checker.add_drift(keep)
            arrays, chunk_scores, codes = outputs.arrays(n, keep, out, reasons, decimal)
            if scratch is None:
                # Hidden, never mistaken for an input, and ending in .csv: readable back for an Excel output
                scratch = AtomicFile(final_csv)
                handle = scratch.handle
                handle.write(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel then shows accents and Chinese
            printable = _printable(table)
            out_table = pa.table([*printable.columns, *arrays], names=[*printable.column_names, *outputs.names])
            if not wrote_header:
                handle.write(_csv_bytes([pa.array([name]) for name in out_table.column_names], delimiter))
                wrote_header = True
            handle.write(_csv_bytes(out_table.columns, delimiter))
            scored = int(keep.sum())
            result.rows_read += n
            result.rows_scored += scored
            result.rows_rejected += n - scored
            if scored:
                scores.append(chunk_scores)
            if codes is not None and len(codes):
                codes_total += np.bincount(codes, minlength=len(codes_total))
            if kept_preview < options.keep_preview:
                part = _pandas(out_table.slice(0, options.keep_preview - kept_preview))
                part.insert(0, "row", np.arange(row0 + 1, row0 + 1 + len(part)))
                preview.append(part)
                kept_preview += len(part)
            if outputs.flag and kept_flagged < options.keep_flagged:
                flag_rows = np.flatnonzero(_flag_mask(n, keep, codes))[: options.keep_flagged - kept_flagged]
                if len(flag_rows):
                    part = _pandas(out_table.take(pa.array(flag_rows)))
                    part.insert(0, "row", flag_rows + row0 + 1)
                    flagged.append(part)
                    kept_flagged += len(part)
            row0 += n
            state.set_progress(start + span * min(done, 0.999),
                               tr("Scoring {name}: {rows:,} rows", name=path.name, rows=result.rows_read))
        if checker is None:
            raise DataError(tr("the file has no data rows."), file=path)
        if scratch is not None:
            scratch.close_handle()
    except BaseException:
        if scratch is not None:
            scratch.discard()
        raise
    result.rejects = list(checker.rejects.values())
    result.drift = checker.drift_report()
    result.scores = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    result.histogram = _histogram(result.scores, loaded.task)
    if loaded.task != REGRESSION:
        result.class_counts = {_label_text(c): int(k) for c, k in zip(loaded.classes, codes_total, strict=True)}
    else:
        result.value_summary = _value_summary(result.scores)
    if loaded.task == BINARY:
        result.flagged_count = int(codes_total[1])
    result.flagged = pd.concat(flagged, ignore_index=True) if flagged else None
    result.preview = pd.concat(preview, ignore_index=True) if preview else None
    if result.rows_scored == 0:
        result.status = "rejected"
        result.error = tr("no row could be scored")
        if scratch is not None:
            scratch.discard()
        return None
    result.status = "partial" if result.rows_rejected else "scored"
    return scratch


def _pandas(table: pa.Table) -> pd.DataFrame:
    """A few rows for display: numbers written as text shown as numbers again."""
    # Nullable integers: a rejected row's empty flag must not turn the other rows' 1 into 1.0.
    ints = {pa.int8(): pd.Int8Dtype(), pa.int64(): pd.Int64Dtype()}
    frame = table.to_pandas(types_mapper=ints.get)
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_string_dtype(column.dtype) and column.notna().any():
            if column.str.match(r"^\s*[+-]?0\d").any():
                continue  # a code such as 007 stays text, as the loader keeps it
            try:
                frame[name] = pd.to_numeric(column)
            except (ValueError, TypeError):
                continue
    return frame


def _flag_mask(n: int, keep: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if codes is not None:
        mask[np.flatnonzero(keep)] = codes.astype(bool)
    return mask


def _histogram(scores: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray] | None:
    finite = scores[np.isfinite(scores)]
    if not finite.size:
        return None
    if task == REGRESSION:
        counts, edges = np.histogram(finite.astype(np.float64), bins=30)
    else:
        counts, edges = np.histogram(finite.astype(np.float64), bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    return counts, edges


def _value_summary(values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)].astype(np.float64)
    if not finite.size:
        return {}
    q = np.quantile(finite, [0.05, 0.5, 0.95])
    return {"min": float(finite.min()), "p5": float(q[0]), "median": float(q[1]), "mean": float(finite.mean()),
            "p95": float(q[2]), "max": float(finite.max())}


def _finish_output(scratch: AtomicFile, final: Path, options: ScoreOptions, result: FileScore) -> None:
    if options.format == "xlsx":
        if result.rows_read <= EXCEL_MAX_ROWS:
            _csv_to_excel(scratch.temp_path, final)
            scratch.discard()
            result.output = final
            return
        result.notes.append(tr("{rows:,} rows do not fit in an Excel sheet ({limit:,} at most): written as CSV "
                               "instead", rows=result.rows_read, limit=EXCEL_MAX_ROWS))
    try:
        result.output = scratch.commit()
    except OSError as exc:
        raise _write_error(exc, scratch.path) from None


def _write_error(exc: OSError, target: Path) -> DataError:
    return DataError(
        tr("the output cannot be written ({reason}).", reason=exc.strerror or exc),
        file=target,
        hint=tr("Close the file if it is open in Excel, or choose another output folder."),
    )


def _csv_to_excel(source: Path, target: Path) -> None:
    """A scored CSV as an Excel workbook with typed cells, written atomically."""
    import openpyxl

    frame = load_files([source]).frame
    if len(frame) > EXCEL_MAX_ROWS:
        raise DataError(tr("{rows:,} rows do not fit in an Excel sheet.", rows=len(frame)), file=target,
                        hint=tr("Export as CSV."))
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("scored")
    scratch = _sheet_scratch(sheet, target)
    try:
        sheet.append([str(c) for c in frame.columns])
        columns = [_excel_values(frame[c]) for c in frame.columns]
        for row in zip(*columns, strict=True):
            sheet.append(row)
        with atomic_write(target) as out:
            out.close_handle(sync=False)
            book.save(out.temp_path)
    except OSError as exc:
        raise _write_error(exc, target) from None
    finally:
        if scratch is not None:
            scratch.discard()


def _sheet_scratch(sheet: Any, target: Path) -> AtomicFile | None:
    """Make openpyxl's write-only sheet stream its rows into one of our temporaries next to
    ``target`` rather than ``openpyxl.XXXX`` in the system's temp folder, which a ``kill -9`` left
    there for good; ours are removed by the next write into the folder.

    This reaches into openpyxl's worksheet writer (3.1: ``_writer``, ``WorksheetWriter(ws, out)``,
    ``ALL_TEMP_FILES``); with any other layout openpyxl keeps its own scratch file (None).
    """
    try:
        from openpyxl.worksheet import _writer as sheet_writer

        if sheet._writer is not None or not hasattr(sheet_writer, "ALL_TEMP_FILES"):
            return None
        scratch = AtomicFile(target.with_name(f"{target.name}.sheet.xml"))
        scratch.close_handle(sync=False)
        name = str(scratch.temp_path)
        sheet._writer = sheet_writer.WorksheetWriter(sheet, out=name)
        sheet_writer.ALL_TEMP_FILES.append(name)  # its cleanup() removes the file and this entry
        sheet._writer.write_top()
    except (ImportError, AttributeError, TypeError):
        return None
    return scratch


def _excel_values(s: pd.Series) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return [None if pd.isna(v) else v.to_pydatetime() for v in s]
    if pd.api.types.is_float_dtype(s.dtype):
        return [None if math.isnan(v) else float(v) for v in s.to_numpy()]
    if pd.api.types.is_integer_dtype(s.dtype):
        return [int(v) for v in s.to_numpy()]
    return [None if pd.isna(v) else str(v) for v in s]


def _csv_bytes(columns: Sequence[pa.Array | pa.ChunkedArray], delimiter: str) -> bytes:
    """Rows as CSV lines, quoting only the cells that need it (RFC 4180: a delimiter, a quote or a
    line end inside); numbers and plain text stay bare, so spreadsheets read numbers as numbers.

    Arrow's CSV writer quotes every text cell, and the input columns are streamed as text (to
    keep them exactly as they were written), which put every number of the input in quotes.
    """
    if not columns or len(columns[0]) == 0:
        return b""
    cells = []
    for column in columns:
        is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        text = pc.cast(column, pa.large_string())
        if is_text:  # numbers cast to text never hold a delimiter, a quote or a line end
            needs = None
            for char in {delimiter, '"', "\r", "\n"}:
                has = pc.match_substring(text, char)
                needs = has if needs is None else pc.or_(needs, has)
            if pc.any(needs).as_py():
                quote = pa.scalar('"', pa.large_string())
                quoted = pc.binary_join_element_wise(quote, pc.replace_substring(text, '"', '""'), quote,
                                                     pa.scalar("", pa.large_string()))
                text = pc.if_else(needs, quoted, text)
        cells.append(pc.fill_null(text, ""))
    def large(text: str) -> pa.Scalar:
        return pa.scalar(text, pa.large_string())

    lines = pc.binary_join_element_wise(*cells, large(delimiter))
    lines = pc.binary_join_element_wise(lines, large("\n"), large(""))
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    # The lines lie back to back in the array's data buffer: take the bytes without a Python list.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
    return lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]


# --------------------------------------------------------------------------------------------
# several files, folders, export


_SCORED_STEM = re.compile(re.escape(SCORED_SUFFIX) + r"(_\d+)?$")
# What browsers, copy tools and editors name a file while it is being written.
PARTIAL_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", ".mfgtmp")


def is_lock_or_partial(path: str | Path) -> bool:
    """An Excel/LibreOffice lock file (``~$book.xlsx``, ``.~lock.book.xlsx#``), a hidden file or a
    file still being written under a temporary name (``.part``, ``.crdownload``, ``.tmp``, ...):
    never data to score."""
    name = Path(path).name
    suffixes = [s.lower() for s in Path(name).suffixes]
    return name.startswith((".", "~$")) or any(s in PARTIAL_SUFFIXES for s in suffixes)


def is_scored_output(path: str | Path) -> bool:
    """A file this module wrote (``*_scored.csv``, ``*_scored_2.csv``) or is writing (a hidden
    temporary), or one not to be read as data at all (:func:`is_lock_or_partial`)."""
    return is_lock_or_partial(path) or _SCORED_STEM.search(Path(path).stem) is not None


def expand_inputs(paths_or_folders: Sequence[str | Path]) -> list[Path]:
    """Files as given; folders as their supported files (sorted, not recursive, outputs skipped)."""
    files: list[Path] = []
    for item in paths_or_folders:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir()
                           if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES and not is_scored_output(f))
            if not found:
                raise DataError(tr("the folder holds no CSV or Excel file to score."), file=p,
                                hint=tr("Pick the folder the line exports into."))
            files += found
        else:
            files.append(p)
    seen: set[str] = set()
    unique = []
    for f in files:
        key = os.path.normcase(os.path.abspath(f))
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def check_batch_outputs(files: Sequence[Path], out_dir: str | Path, options: ScoreOptions) -> None:
    """Refuse a batch in which two files would be scored into the same output, or an output would
    overwrite one of the inputs (checked before anything is scored)."""
    stems: dict[str, Path] = {}
    for f in files:
        target = output_path(f, out_dir, options.format)
        name = target.name.casefold()
        if name in stems:
            raise DataError(
                tr("{first} and {second} would both be scored into {output}.", first=stems[name].name, second=f.name,
                   output=output_path(f, out_dir).name),
                file=f, hint=tr("Score them into different folders, or rename one."))
        stems[name] = f
        _check_output(target, files)
        _check_output(output_path(f, out_dir, "csv"), files)


def score_files(
    model: LoadedModel | TrainingRun,
    paths_or_folders: Sequence[str | Path],
    out_dir: str | Path,
    state: JobState | None = None,
    options: ScoreOptions | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> list[FileScore]:
    """Score every file (folders expanded) into ``out_dir``; each :class:`FileScore` is also sent
    through ``state.set_partial_result`` as soon as its file is done."""
    state = ensure_state(state)
    loaded = as_loaded_model(model)
    options = options or ScoreOptions()
    files = expand_inputs(paths_or_folders)
    check_batch_outputs(files, out_dir, options)
    sizes = []
    for f in files:
        try:
            sizes.append(max(f.stat().st_size, 1))
        except OSError:
            sizes.append(1)
    total = float(sum(sizes)) or 1.0
    done = 0.0
    results: list[FileScore] = []
    for f, size in zip(files, sizes, strict=True):
        state.check_cancelled()
        result = score_file(loaded, f, out_dir, options, state, chunk_rows, protected=files,
                            progress_span=(done / total, size / total))
        results.append(result)
        state.set_partial_result(result)
        done += size
    state.set_progress(1.0, trn("Scored {n} file", "Scored {n} files", len(results)))
    return results


def export_scored(score: FileScore, out_dir: str | Path, fmt: str = "csv",
                  protected: Iterable[str | Path] = ()) -> Path:
    """Copy a scored file to ``out_dir`` as CSV, or convert it to Excel; never over an input."""
    if score.output is None:
        raise DataError(tr("this file was not scored, so there is nothing to export."), file=score.path)
    if fmt not in OUTPUT_FORMATS:
        raise MfgError(tr("Unknown export format {format}; use csv or xlsx.", format=repr(fmt)))
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise DataError(tr("the export folder does not exist."), file=out_dir, hint=tr("Choose an existing folder."))
    target = output_path(score.path, out_dir, fmt)
    _check_output(target, [score.path, *map(Path, protected)])
    source = Path(score.output)
    if _same_file(source, target):
        return target
    if fmt == "xlsx":
        if source.suffix.lower() in EXCEL_SUFFIXES:
            _copy_atomic(source, target)
        else:
            if score.rows_read > EXCEL_MAX_ROWS:
                raise DataError(tr("{rows:,} rows do not fit in an Excel sheet ({limit:,} at most).",
                                   rows=score.rows_read, limit=EXCEL_MAX_ROWS), file=score.path,
                                hint=tr("Export as CSV."))
            _csv_to_excel(source, target)
        return target
    if source.suffix.lower() != ".csv":
        raise DataError(tr("this file was scored into Excel; export it as Excel."), file=score.path)
    _copy_atomic(source, target)
    return target


def _copy_atomic(source: Path, target: Path) -> None:
    import shutil

    try:
        with atomic_write(target) as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out.handle, 1 << 20)
    except OSError as exc:
        raise _write_error(exc, target) from None


# --------------------------------------------------------------------------------------------
# sensor histories
#
# Scoring history files with a model trained on window features.
# 
# A history model needs whole entities (a row's features come from its earlier rows), so a file is
# read whole rather than streamed: the same checks and windows as in training are applied
# (:func:`mfg_desktop.core.history.build_features` with the stored :class:`HistorySpec`), every row
# is scored, and ``short_history`` flags rows whose entity had fewer rows (or seconds) so far than
# the longest window. Beside ``<name>_scored.csv`` goes ``<name>_entities.csv``: one row per
# entity with its id (under the entity column's own name), its last order value, and the latest
# prediction.

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


def _write_frame_csv(frame: pd.DataFrame, target: Path) -> None:
    """Written through :func:`atomic_write` (a temporary beside the target, then moved): never half a file."""
    try:
        write_bytes_atomic(target, frame.to_csv(index=False).encode("utf-8"))
    except OSError as exc:
        raise _write_error(exc, target) from None


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
    # a class label (several classes) has no trend: coerced to NaN, the column then stays empty
    score = pd.to_numeric(predictions[score_column], errors="coerce").to_numpy(dtype=np.float64)
    out[TREND_COLUMN] = _latest_trend(frame, spec, score, last["key"].to_numpy())
    return out


TREND_COLUMN = "trend"


def _latest_trend(frame: pd.DataFrame, spec: HistorySpec, score: np.ndarray, keys_in_order: np.ndarray) -> np.ndarray:
    """Per entity, the least-squares slope of the score over its last rows (as many as the longest
    window, at least 2): change per row, per order unit, or per hour for a timestamp order, as the
    remaining life is counted. Empty (NaN) for an entity with one row."""
    from mfg_desktop.core.history import ORDER_TIME, _order_values

    keys = frame[spec.entity].to_numpy() if spec.entity else np.zeros(len(frame))
    order, kind = _order_values(frame, spec)
    t = np.arange(len(frame), dtype=np.float64) if order is None else order / (3600.0 if kind == ORDER_TIME else 1.0)
    work = pd.DataFrame({"key": keys, "t": t, "p": score, "pos": np.arange(len(frame))})
    span = max(2, max(spec.sizes) if spec.windows != "none" and spec.sizes else 10)
    tail = work.sort_values(["t", "pos"], kind="stable").groupby("key", sort=False).tail(span)
    tail = tail.assign(t=tail["t"] - tail.groupby("key", sort=False)["t"].transform("min"))  # no large numbers
    tail = tail.assign(tt=tail["t"] ** 2, tp=tail["t"] * tail["p"])
    g = tail.groupby("key", sort=False)[["t", "p", "tt", "tp"]].mean()
    var = g["tt"] - g["t"] ** 2
    slope = ((g["tp"] - g["t"] * g["p"]) / var).where(var > 1e-12)
    return slope.reindex(keys_in_order).to_numpy(dtype=np.float64)


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
    state.set_progress(start, tr("Scoring the histories in {name}", name=path.name))
    try:
        frame = load_files([path], options.read, state=None).frame
        result.rows_read = len(frame)
        if spec.entity == SOURCE_FILE and SOURCE_FILE not in frame.columns:
            frame.insert(0, SOURCE_FILE, path.name)  # one file, one history: as when several were loaded
        missing = [c for c in required_columns(loaded, spec) if c not in frame.columns]
        if not missing:
            frame = resample_history(frame, spec)  # a row per step, as in training
        if missing:
            raise DataError(tr("missing required column(s) {columns}.", columns=", ".join(map(repr, missing))),
                            file=path, column=missing[0],
                            hint=tr("Score files exported like the ones the model was trained on."))
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
    # a sequence network reads its last W rows (not windows of spec.sizes): short is fewer than W
    longest = loaded.run.network.sequence_length if loaded.run.is_sequence else max(spec.sizes, default=0)
    short = features.rows_seen < longest if loaded.run.is_sequence else features.short
    scored[SHORT_COLUMN] = short
    summary = entity_summary(frame, predictions, spec, short, score_column)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_frame_csv(scored, final)
        _write_frame_csv(summary, summary_file)
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
    result.entities = summary
    plotted = list(dict.fromkeys(c for c in (spec.entity, spec.order, *spec.inputs) if c and c in frame.columns))
    result.history_rows = scored[[*plotted, *predictions.columns, SHORT_COLUMN]]
    n_short = int(summary[SHORT_COLUMN].sum())
    result.notes.append(trn("{n} entity ({spec}); per-entity summary -> {file}",
                            "{n} entities ({spec}); per-entity summary -> {file}", len(summary),
                            spec=spec.describe(), file=summary_file))
    if n_short:
        longest = max(spec.sizes) if spec.sizes else 0
        if spec.windows_in_seconds and not loaded.run.is_sequence:
            note = trn("{n} entity is shorter than the {window}s window: scored with the rows they have, flagged "
                       "in {column}", "{n} entities are shorter than the {window}s window: scored with the rows they "
                       "have, flagged in {column}", n_short, window=longest, column=SHORT_COLUMN)
        else:
            note = trn("{n} entity is shorter than the {window} rows window: scored with the rows they have, "
                       "flagged in {column}", "{n} entities are shorter than the {window} rows window: scored with the rows "
                       "they have, flagged in {column}", n_short, window=longest, column=SHORT_COLUMN)
        result.notes.append(note)
    result.seconds = time.perf_counter() - started
    state.set_progress(start + span, tr("Scored {name}", name=path.name))
    return result
