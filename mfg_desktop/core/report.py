"""The report as data: a Qt-free list of blocks that a renderer draws (PDF in ``mfg_desktop.report_pdf``).

A :class:`ReportDocument` holds headings, paragraphs, key-value tables, tables with a header row,
and charts as plain numbers (line/point series, bars with error bars, a confusion heatmap). It is
assembled here from what the app already computed — the run or model file, its evaluation, the
data profile and target report, the scored files — so the PDF shows the same numbers as the window
and the command line, and a test can read them back from the PDF's text.

:func:`build_model_report` writes the model report (cover, data, preparation, model, training
curves, evaluation, feature importance); :func:`build_batch_report` the report of a batch of
scored files (per-file summary, schema and drift warnings, first flagged rows). Numbers are
formatted once, here: metrics with 4 decimals, counts with thousands separators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from mfg_desktop import __version__
from mfg_desktop.core.i18n import N_, format_datetime, tr, trn
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION

# Sections of the model report, in order; the user may leave any of them out.
SECTIONS = ("data", "preparation", "model", "training", "evaluation", "importance")
SECTION_TITLES = {  # shown as tr(SECTION_TITLES[key]): the language is chosen after import
    "data": N_("Data"),
    "preparation": N_("Preparation"),
    "model": N_("Model"),
    "training": N_("Training curves"),
    "evaluation": N_("Evaluation"),
    "importance": N_("Feature importance"),
}
# The recipe's and the profile's machine words (roles, imputation, scaling, column kinds): English
# shows them as they are stored, other languages translate them; anything else is the user's own text.
VALUE_WORDS = frozenset({
    N_("numeric"), N_("integer"), N_("boolean"), N_("categorical"), N_("text"), N_("datetime"), N_("drop"),
    N_("median"), N_("mean"), N_("most_frequent"), N_("constant"), N_("none"),
    N_("standard"), N_("minmax"), N_("robust"), N_("onehot"),
    N_("scored"), N_("partial"), N_("rejected"),  # a scored file's status
    N_("auto"),  # the network's loss and early-stopping monitor when the task chooses them
})
MAX_CURVE_POINTS = 400  # ROC/PR points kept per curve: plenty for a printed chart
MAX_SCATTER_POINTS = 1500
FLAGGED_ROWS_SHOWN = 15
PAPER_SIZES = ("auto", "A4", "Letter")


# --------------------------------------------------------------------------------------------
# blocks


@dataclass
class Heading:
    text: str
    level: int = 1  # 1: section (starts a new page in the model report), 2: subsection


@dataclass
class Paragraph:
    text: str
    style: str = "body"  # "body" | "note" (small, grey) | "warning" (marked) | "mono"


@dataclass
class Bullets:
    items: list[str]
    style: str = "body"  # "body" | "warning"


@dataclass
class KeyValues:
    rows: list[tuple[str, str]]


@dataclass
class Table:
    """A table whose first row is the header; rows are never split across pages."""

    header: list[str]
    rows: list[list[str]]
    align: list[str] = field(default_factory=list)  # per column "l" | "r"; default left
    mono: list[int] = field(default_factory=list)  # columns in a fixed-width font (hashes)
    caption: str = ""


@dataclass
class Series:
    name: str
    x: list[float]
    y: list[float]
    mode: str = "line"  # "line" | "points" | "line+points"


@dataclass
class LineChart:
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    markers: list[tuple[float, str]] = field(default_factory=list)  # vertical lines (x, label)
    diagonal: bool = False  # the y = x reference line (ROC chance, predicted = actual)
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    square: bool = False  # equal height and width (ROC, PR, predicted vs actual)


@dataclass
class BarChart:
    title: str
    labels: list[str]
    values: list[float]
    errors: list[float] | None = None  # +- one standard deviation, drawn as error bars
    value_label: str = ""
    horizontal: bool = True
    x_edges: list[float] | None = None  # vertical histogram: bin edges (len(values) + 1)


@dataclass
class Heatmap:
    """Confusion matrix: rows are the actual classes, columns the predicted ones."""

    title: str
    labels: list[str]
    counts: list[list[int]]
    shares: list[list[float]]  # per row (share of the actual class)
    row_title: str = "actual"
    column_title: str = "predicted"


@dataclass
class ChartRow:
    """Charts side by side (e.g. ROC and PR)."""

    charts: list[Any]


@dataclass
class PageBreak:
    pass


Block = Heading | Paragraph | Bullets | KeyValues | Table | LineChart | BarChart | Heatmap | ChartRow | PageBreak


@dataclass
class ReportSettings:
    """What the user chose: sections, names for the cover and header, paper, costs."""

    sections: tuple[str, ...] = SECTIONS
    plant: str = ""
    line: str = ""
    author: str = ""
    title: str = ""  # empty: "Model report" / "Batch scoring report"
    paper: str = "auto"  # "auto" (by locale) | "A4" | "Letter"
    cost_missed: float | None = 10.0  # binary: cost of a missed positive (the Evaluate step's default)
    cost_false_alarm: float | None = 1.0
    date: datetime | None = None  # None: now (tests fix it)


@dataclass
class ReportDocument:
    title: str
    kind: str  # "model" | "batch"
    header_left: str  # on every page
    header_right: str
    cover: list[Block]
    blocks: list[Block]
    paper: str = "auto"
    created: str = ""

    def all_blocks(self) -> list[Block]:
        return [*self.cover, PageBreak(), *self.blocks] if self.cover else list(self.blocks)

    def text(self) -> str:
        """All the words of the document, in order (tests, and the CJK font check)."""
        parts: list[str] = [self.title, self.header_left, self.header_right]
        for block in self.all_blocks():
            parts += _block_texts(block)
        return "\n".join(p for p in parts if p)

    def section_titles(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Heading) and b.level == 1]


def _block_texts(block: Any) -> list[str]:
    if isinstance(block, Heading | Paragraph):
        return [block.text]
    if isinstance(block, Bullets):
        return list(block.items)
    if isinstance(block, KeyValues):
        return [f"{k} {v}" for k, v in block.rows]
    if isinstance(block, Table):
        return [block.caption, " ".join(block.header)] + [" ".join(r) for r in block.rows]
    if isinstance(block, LineChart):
        return [block.title, block.x_label, block.y_label] + [s.name for s in block.series] + \
            [m[1] for m in block.markers]
    if isinstance(block, BarChart):
        return [block.title, block.value_label, *block.labels]
    if isinstance(block, Heatmap):
        return [block.title, *block.labels]
    if isinstance(block, ChartRow):
        return [t for c in block.charts for t in _block_texts(c)]
    return []


# --------------------------------------------------------------------------------------------
# formatting


def fmt_metric(v: Any) -> str:
    """Metrics as everywhere in the app: 4 decimals; undefined as an em dash."""
    if v is None:
        return "—"
    v = float(v)
    return f"{v:.4f}" if math.isfinite(v) else "—"


def fmt_int(v: Any) -> str:
    return "—" if v is None else f"{int(v):,}"


def fmt_num(v: Any, digits: int = 4) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        return tr("yes") if v else tr("no")
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    f = float(v)
    if not math.isfinite(f):
        return "—"
    if f.is_integer() and abs(f) < 1e12:
        return f"{int(f):,}"
    return f"{f:.{digits}g}"


def fmt_share(v: Any) -> str:
    return "—" if v is None or not math.isfinite(float(v)) else f"{float(v) * 100:.1f} %"


def fmt_seconds(s: float) -> str:
    s = float(s)
    if s < 60:
        return tr("{seconds:.1f} s", seconds=s)
    m, sec = divmod(round(s), 60)
    return tr("{minutes} min {seconds:02d} s", minutes=m, seconds=sec) if m < 60 else \
        tr("{hours} h {minutes:02d} min", hours=m // 60, minutes=m % 60)


def _thin(x: np.ndarray, y: np.ndarray, limit: int) -> tuple[list[float], list[float]]:
    """At most ``limit`` points, always keeping the first and the last."""
    from mfg_desktop.core.evaluate import thin_curve

    return thin_curve(x, y, limit)


def _now(settings: ReportSettings) -> datetime:
    return settings.date or datetime.now().astimezone()


def _run_of(model: Any) -> tuple[Any, Any]:
    """(TrainingRun, LoadedModel or None) from either."""
    if hasattr(model, "run") and hasattr(model, "manifest"):
        return model.run, model
    return model, None


def _header(settings: ReportSettings, title: str) -> str:
    where = " · ".join(p for p in (settings.plant.strip(), settings.line.strip()) if p)
    return f"{title} — {where}" if where else title


def _header_right(run: Any, date: datetime) -> str:
    return tr("model {id} · {date}", id=run.id, date=format_datetime(date, with_time=False))


def _value_text(value: Any) -> str:
    """A recipe or profile word (``median``, ``numeric``) in the report's language; other text as it is."""
    text = "" if value is None else str(value)
    return tr(text) if text in VALUE_WORDS else text


def _join(items: Sequence[str]) -> str:
    # TRANSLATORS: the separator between the items of a list in a sentence (Chinese: 、)
    return tr(", ").join(items)


def _stored_time(iso: Any) -> str:
    """A stored time stamp (``2026-03-02T08:30:00+00:00``) as the language writes dates; "UTC" after
    one stored in UTC (training and scoring times are), so it is not read as local time."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:  # an old or hand-edited file: show what it holds
        return str(iso)[:19].replace("T", " ")
    in_utc = moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    return format_datetime(moment) + (" UTC" if in_utc else "")


# --------------------------------------------------------------------------------------------
# the model report


def build_model_report(
    model: Any,
    evaluation: Any = None,
    profile: Any = None,
    target_report: Any = None,
    settings: ReportSettings | None = None,
) -> ReportDocument:
    """The report of one model: ``model`` is a :class:`TrainingRun` or an opened model file.

    ``evaluation`` (core.evaluate.Evaluation), ``profile`` (DataProfile) and ``target_report``
    (TargetReport) are optional: a section without its input says what is missing and how to get
    it, rather than leaving a silent gap.
    """
    settings = settings or ReportSettings()
    run, loaded = _run_of(model)
    unknown = [s for s in settings.sections if s not in SECTIONS]
    if unknown:
        from mfg_desktop.core.errors import MfgError

        raise MfgError(tr("Unknown report section(s): {sections}.", sections=", ".join(unknown)),
                       hint=tr("Choose from: {sections}.", sections=", ".join(SECTIONS)))
    if evaluation is not None and getattr(evaluation, "run", None) is not None and evaluation.run is not run \
            and getattr(evaluation.run, "id", None) != run.id:
        from mfg_desktop.core.errors import MfgError

        raise MfgError(tr("The evaluation belongs to another model than the one reported."),
                       hint=tr("Evaluate this model, then export the report again."))
    title = settings.title.strip() or tr("Model report")
    date = _now(settings)
    doc = ReportDocument(
        title=title, kind="model",
        header_left=_header(settings, title),
        header_right=_header_right(run, date),
        cover=_model_cover(run, loaded, evaluation, settings, title, date),
        blocks=[], paper=settings.paper, created=date.isoformat(timespec="seconds"),
    )
    builders = {
        "data": lambda: _data_section(run, profile, target_report),
        "preparation": lambda: _preparation_section(run),
        "model": lambda: _model_section(run, loaded),
        "training": lambda: _training_section(run),
        "evaluation": lambda: _evaluation_section(run, evaluation, settings),
        "importance": lambda: _importance_section(evaluation),
    }
    for key in SECTIONS:
        if key in settings.sections:
            doc.blocks += [Heading(tr(SECTION_TITLES[key]), 1), *builders[key]()]
    return doc


def _target_text(run: Any) -> str:
    target = run.recipe.target
    return target if isinstance(target, str) else " + ".join(map(str, target))


def _task_text(task: str) -> str:
    return {BINARY: tr("yes/no (binary classification)"), MULTICLASS: tr("classes (multiclass classification)"),
            REGRESSION: tr("a number (regression)")}.get(task, task)


def _headline(run: Any, evaluation: Any) -> list[Block]:
    """The one-paragraph answer a reader looks for first."""
    from mfg_desktop.core.evaluate import HGB, METRIC_TEXT

    if evaluation is None:
        vals = ", ".join(f"{k.replace('val_', '').replace('_', '-')} {fmt_metric(v)}" for k, v in run.metrics.items())
        return [Paragraph(tr("Not evaluated on held-out test rows yet. On the validation rows: {values}.",
                             values=vals), "note")]
    key = evaluation.main_metric
    ours = evaluation.metrics.get(key)
    metric = tr(METRIC_TEXT.get(key, key))
    hgb = evaluation.baselines.get(HGB, {}).get(key)
    if hgb is not None and math.isfinite(float(hgb)):
        text = tr("On {rows:,} held-out rows ({note}), the model reaches {metric} {value}; the gradient-boosting "
                  "baseline {baseline} on the same rows.", rows=evaluation.n_rows, note=evaluation.note,
                  metric=metric, value=fmt_metric(ours), baseline=fmt_metric(hgb))
    else:
        text = tr("On {rows:,} held-out rows ({note}), the model reaches {metric} {value}.",
                  rows=evaluation.n_rows, note=evaluation.note, metric=metric, value=fmt_metric(ours))
    keys = {BINARY: ("pr_auc", "roc_auc", "recall", "precision"),
            MULTICLASS: ("balanced_accuracy", "accuracy", "f1_macro", "roc_auc"),
            REGRESSION: ("r2", "mae", "rmse")}[evaluation.task]
    base = evaluation.baselines.get(HGB, {})
    rows = [[tr(METRIC_TEXT.get(k, k)), fmt_metric(evaluation.metrics.get(k)), fmt_metric(base.get(k))]
            for k in keys if k in evaluation.metrics]
    return [Paragraph(text), Table([tr("key result"), tr("this model"), tr("gradient boosting")], rows,
                                   align=["l", "r", "r"])]


def _identity_rows(run: Any, loaded: Any, settings: ReportSettings, date: datetime) -> list[tuple[str, str]]:
    """Who, where, when and which model: the first rows of every report's cover."""
    rows = [
        (tr("Plant"), settings.plant.strip() or "—"),
        (tr("Line"), settings.line.strip() or "—"),
        (tr("Author"), settings.author.strip() or "—"),
        (tr("Date"), format_datetime(date)),
        (tr("App version"), f"mfg-desktop {__version__}"),
        (tr("Model id"), run.id),
    ]
    if loaded is not None and getattr(loaded, "path", None):
        rows.append((tr("Model file"), Path(loaded.path).name))
    return rows


def _model_cover(run: Any, loaded: Any, evaluation: Any, settings: ReportSettings, title: str,
                 date: datetime) -> list[Block]:
    rows = _identity_rows(run, loaded, settings, date)
    rows += [
        (tr("Trained"), _stored_time(run.created)),
        (tr("Target"), _target_text(run)),
        (tr("Task"), _task_text(run.task)),
    ]
    if run.task == BINARY:
        rows.append((tr("Positive class"), str(run.fitted.label_mapping.positive_class)))
    blocks: list[Block] = [Heading(title, 0), KeyValues(rows), *_headline(run, evaluation)]
    if run.cancelled:
        blocks.append(Paragraph(trn("Training was cancelled after {n} epoch; the model keeps the best weights so "
                                    "far (epoch {best}).", "Training was cancelled after {n} epochs; the model "
                                    "keeps the best weights so far (epoch {best}).", run.epochs_run,
                                    best=run.best_epoch), "warning"))
    included = [tr(SECTION_TITLES[s]) for s in SECTIONS if s in settings.sections]
    blocks.append(Paragraph(tr("Contents: {sections}.", sections=_join(included)), "note"))
    return blocks


# -- data ------------------------------------------------------------------------------------


def _data_section(run: Any, profile: Any, target_report: Any) -> list[Block]:
    fp = run.data_fingerprint or {}
    out: list[Block] = [Heading(tr("Training data"), 2)]
    files = fp.get("files") or []
    if files:
        out.append(Table([tr("file"), tr("size"), "sha256"],
                         [[str(f.get("name")), _size(f.get("size")), str(f.get("sha256") or tr("not readable"))]
                          for f in files], align=["l", "r", "l"], mono=[2]))
    else:
        out.append(Paragraph(tr("The model was trained on a table without a file name (e.g. pasted or built in "
                                "the session); its content fingerprint identifies it."), "note"))
    out.append(KeyValues([
        (tr("Rows"), fmt_int(fp.get("rows"))),
        (tr("Columns"), fmt_int(fp.get("columns"))),
        (tr("Table fingerprint (sha256)"), str(fp.get("frame_sha256") or "—")),
    ]))
    if profile is None:
        out.append(Paragraph(tr("No data profile was given, so data-quality findings are not part of this report. "
                                "Load the training data (or pass --data FILE on the command line) to include them."),
                             "note"))
    else:
        out += _profile_blocks(profile)
    out += _leak_blocks(run, target_report)
    return out


def _size(n: Any) -> str:
    if n is None:
        return "—"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _profile_blocks(profile: Any) -> list[Block]:
    out: list[Block] = [Heading(tr("Data quality"), 2), KeyValues([
        (tr("Rows profiled"), fmt_int(profile.rows)),
        (tr("Columns"), fmt_int(profile.n_columns)),
        (tr("Duplicate rows"), fmt_int(profile.duplicate_rows)),
    ])]
    rows = []
    for c in profile.columns:
        notes = [n for flag, n in ((c.constant, tr("constant")), (c.near_constant, tr("near-constant")),
                                   (c.identifier_like, tr("id-like"))) if flag]
        missing = f"{c.missing:,} ({c.missing_share * 100:.1f} %)" if c.missing else "0"
        rows.append([c.name, _value_text(c.kind), missing, fmt_int(c.distinct), _cell(c.min), _cell(c.mean),
                     _cell(c.max), fmt_int(c.outliers) if c.outliers else "", _join(notes)])
    out.append(Table([tr("column"), tr("kind"), tr("missing"), tr("distinct"), tr("min"), tr("mean"), tr("max"),
                      tr("outliers"), tr("notes")], rows, align=["l", "l", "r", "r", "r", "r", "r", "r", "l"]))
    warnings = [f"{c.name}: {w}" for c in profile.columns for w in c.warnings] + list(profile.warnings)
    if warnings:
        out += [Paragraph(tr("Findings and warnings:")), Bullets(warnings, "warning")]
    else:
        out.append(Paragraph(tr("No data-quality warnings."), "note"))
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v[:10] if len(v) > 19 else v  # ISO timestamps: the date
    return fmt_num(v)


def _leak_blocks(run: Any, target_report: Any) -> list[Block]:
    """Leak suspects and what was done: left out of the inputs, or kept by the user's choice."""
    inputs = set(run.recipe.inputs)
    reasons: dict[str, str] = {}
    if target_report is not None:
        reasons = {s.column: s.reason for s in target_report.leak_suspects}
    out: list[Block] = [Heading(tr("Leak suspects"), 2)]
    rows = [[col, reason, tr("kept as an input (the user's choice)") if col in inputs else tr("left out of the inputs")]
            for col, reason in reasons.items()]
    if rows:
        out.append(Table([tr("column"), tr("why it is suspected"), tr("what was done")], rows))
    elif target_report is not None:
        out.append(Paragraph(tr("No column looks like a leak of the target."), "note"))
    dropped = [p for p in run.recipe.columns if p.role == "drop" and p.name not in reasons]
    if dropped:
        out.append(Paragraph(tr("Other columns left out of the inputs, with the reason recorded in the recipe:")))
        out.append(Table([tr("column"), tr("reason")], [[p.name, p.reason or tr("left out by the user")]
                                                       for p in dropped]))
    if target_report is None and not dropped:
        out.append(Paragraph(tr("No target analysis was given; every column was used as an input."), "note"))
    if target_report is not None:
        extra = target_report.other_warnings()
        if extra:
            out += [Paragraph(tr("Target warnings:")), Bullets(extra, "warning")]
    return out


# -- preparation -----------------------------------------------------------------------------


def _preparation_section(run: Any) -> list[Block]:
    recipe = run.recipe
    fitted = run.fitted
    out: list[Block] = [Heading(tr("Target"), 2)]
    kv = [(tr("Target"), _target_text(run)), (tr("Task"), _task_text(run.task))]
    if run.task != REGRESSION:
        kv.append((tr("Classes"), ", ".join(map(str, run.classes))))
    if run.task == BINARY:
        kv.append((tr("Positive class"), str(fitted.label_mapping.positive_class)))
    if run.class_weights:
        kv.append((tr("Class weights"),
                   ", ".join(f"{run.classes[k]}: {v:.3g}" for k, v in run.class_weights.items())))
    elif run.task != REGRESSION:
        kv.append((tr("Class weights"), tr("none")))
    out.append(KeyValues(kv))

    out.append(Heading(tr("Recipe per column"), 2))
    rows = []
    for p in recipe.columns:
        if p.role == "drop":
            rows.append([p.name, tr("left out"), "", "", p.reason])
        elif p.role == "categorical":
            rows.append([p.name, tr("category"), _value_text(p.impute), _value_text(p.encode), _value_text(p.reason)])
        else:
            rows.append([p.name, _value_text(p.role), _value_text(p.impute), _value_text(p.scale),
                         _value_text(p.reason)])
    out.append(Table([tr("column"), tr("role"), tr("missing values"), tr("scaling / encoding"), tr("why")], rows))
    if recipe.derived:
        out.append(Table([tr("derived column"), tr("formula")], [[d.name, d.expression] for d in recipe.derived],
                         caption=tr("Derived columns (computed the same way when predicting)")))
    notes = [trn("The network reads {n} number per row.", "The network reads {n} numbers per row.",
                 int(fitted.n_features))]
    if recipe.add_missing_indicators:
        notes.append(tr("Columns with missing values in training get a 0/1 'was missing' indicator."))
    out.append(Paragraph(" ".join(notes), "note"))

    ratios = fitted.explained_variance_ratio
    if recipe.pca.enabled and ratios is not None and len(ratios):
        ratios = np.asarray(ratios, dtype=np.float64)
        cumulative = np.cumsum(ratios)
        out.append(Heading(tr("PCA"), 2))
        out.append(Paragraph(trn("PCA keeps {n} component, explaining {share:.1f} % of the variance of the "
                                 "prepared training columns.", "PCA keeps {n} components, explaining {share:.1f} % "
                                 "of the variance of the prepared training columns.", len(ratios),
                                 share=cumulative[-1] * 100)))
        k = np.arange(1, len(ratios) + 1, dtype=float)
        out.append(LineChart(tr("Explained variance"), tr("components"), tr("share of variance"), [
            Series(tr("cumulative"), k.tolist(), cumulative.tolist(), "line+points"),
            Series(tr("per component"), k.tolist(), ratios.tolist(), "line+points"),
        ], y_range=(0.0, 1.0)))

    if getattr(run, "history_spec", None):
        out += _history_setup_blocks(run.history_spec)
    spec = run.split_spec
    out.append(Heading(tr("Split"), 2))
    stratified = spec.stratify and run.task != REGRESSION
    how = {"random": tr("random, stratified by class") if stratified else tr("random"),
           "time": tr("by time: column {column!r}, the latest rows held out", column=spec.column),
           "group": tr("by group: column {column!r}, each group in one part only", column=spec.column),
           }.get(spec.method, spec.method)
    out.append(Table([tr("part"), tr("share"), tr("rows"), tr("used for")], [
        [tr("training"), f"{spec.train * 100:.0f} %", f"{len(run.split_train):,}",
         tr("fitting the recipe and the network")],
        [tr("validation"), f"{spec.valid * 100:.0f} %", f"{len(run.split_valid):,}",
         tr("early stopping, best epoch, threshold")],
        [tr("test"), f"{spec.test * 100:.0f} %", f"{len(run.split_test):,}", tr("the evaluation in this report")],
    ], align=["l", "r", "r", "l"], caption=tr("Split: {how}; seed {seed}", how=how, seed=spec.seed)))
    return out


# -- model -----------------------------------------------------------------------------------


def architecture_rows(model: Any) -> list[list[str]]:
    """(layer, type, output shape, parameters) of a Keras model, read from its layers."""
    rows = []
    for layer in getattr(model, "layers", []):
        try:
            shape = tuple(layer.output.shape)
            shape_text = "(" + ", ".join(tr("batch") if d is None else str(d) for d in shape) + ")"
        except (AttributeError, ValueError):
            shape_text = ""
        rows.append([layer.name, type(layer).__name__, shape_text, f"{int(layer.count_params()):,}"])
    return rows


def _model_section(run: Any, loaded: Any) -> list[Block]:
    spec = run.network
    out: list[Block] = [Heading(tr("Architecture"), 2)]
    if run.model is not None:
        rows = architecture_rows(run.model)
        total = int(run.model.count_params())
        out.append(Table([tr("layer"), tr("type"), tr("output shape"), tr("parameters")], rows,
                         align=["l", "l", "l", "r"]))
        out.append(Paragraph(tr("Parameters: {total:,} in total.", total=total), "body"))
    hidden = " → ".join(str(u) for u in spec.hidden)
    encoding = (tr("piecewise-linear encoding, {bins} bins, embedding {dim}", bins=spec.n_bins,
                   dim=spec.embedding_dim) if spec.numeric_encoding == "ple" else tr("none"))
    layers = tr("{hidden} units, {activation}", hidden=hidden, activation=spec.activation)
    out.append(Heading(tr("Training settings"), 2))
    out.append(KeyValues([
        (tr("Hidden layers"), tr("{layers}, batch norm", layers=layers) if spec.batch_norm else layers),
        (tr("Dropout"), f"{spec.dropout:g}"),
        (tr("Input handling"), tr("smooth clipping, {encoding}", encoding=encoding) if spec.smooth_clip else encoding),
        (tr("Optimizer"), tr("{optimizer}, learning rate {rate:g}, weight decay {decay:g}", optimizer=spec.optimizer,
                             rate=spec.learning_rate, decay=spec.weight_decay)),
        (tr("Learning-rate schedule"),
         trn("{schedule} with {n} warm-up epoch", "{schedule} with {n} warm-up epochs", spec.warmup_epochs,
             schedule=spec.lr_schedule) if spec.lr_schedule == "cosine" else spec.lr_schedule),
        (tr("Loss"), _value_text(spec.loss)),
        (tr("Batch size"), str(spec.batch_size)),
        (tr("Epochs"), tr("at most {epochs}, patience {patience}, monitor {monitor}", epochs=spec.epochs,
                          patience=spec.patience, monitor=_value_text(spec.monitor))),
        (tr("Seed"), str(run.seed)),
    ]))
    stop = (tr("cancelled by the user") if run.cancelled else
            tr("stopped early (no improvement for the patience)") if run.stopped_early else tr("ran all epochs"))
    versions = run.versions or {}
    out.append(Heading(tr("Run"), 2))
    out.append(KeyValues([
        (tr("Device"), tr("{device} (mixed precision)", device=run.device) if run.mixed_precision else run.device),
        (tr("Duration"), fmt_seconds(run.duration_s)),
        (tr("Epochs run"), tr("{epochs}; {how}", epochs=run.epochs_run, how=stop)),
        (tr("Best epoch"), tr("{epoch} (its weights are the model's)", epoch=run.best_epoch)),
        (tr("Validation metrics"), ", ".join(f"{k} {fmt_metric(v)}" for k, v in run.metrics.items())),
        (tr("Software"), ", ".join(f"{k} {v}" for k, v in versions.items() if k != "backend_version")
         + (f" ({versions['backend_version']})" if "backend_version" in versions else "")),
    ]))
    return out


# -- training curves ---------------------------------------------------------------------------


def training_charts(run: Any) -> list[LineChart]:
    """Loss and the task's metric per epoch, training and validation, with the best epoch marked."""
    from mfg_desktop.core.network import metric_name

    h = run.history
    metric = metric_name(run.task)
    marker = [(float(run.best_epoch), tr("best epoch {epoch}", epoch=run.best_epoch))] if run.best_epoch else []

    def series(key: str, name: str) -> Series | None:
        values = h.get(key) or []
        if not values:
            return None
        return Series(name, [float(i) for i in range(1, len(values) + 1)], [float(v) for v in values], "line+points")

    training, validation, epoch = tr("training"), tr("validation"), tr("epoch")
    charts = [LineChart(tr("Loss"), epoch, tr("loss"),
                        [s for s in (series("loss", training), series("val_loss", validation)) if s],
                        markers=marker)]
    label = {"mae": tr("mean absolute error"), "accuracy": tr("accuracy")}.get(metric, metric)
    charts.append(LineChart(label[:1].upper() + label[1:], epoch, label,
                            [s for s in (series(metric, training), series(f"val_{metric}", validation)) if s],
                            markers=marker))
    if h.get("val_pr_auc"):
        charts.append(LineChart(tr("Validation PR-AUC (what early stopping follows)"), epoch, "PR-AUC",
                                [s for s in (series("val_pr_auc", validation),) if s], markers=marker))
    return [c for c in charts if c.series]


def _training_section(run: Any) -> list[Block]:
    charts = training_charts(run)
    if not charts:
        return [Paragraph(tr("No training history was recorded."), "note")]
    out: list[Block] = [Paragraph(trn("{n} epoch; the dashed line marks the best epoch ({best}), whose weights the "
                                      "model keeps.", "{n} epochs; the dashed line marks the best epoch ({best}), "
                                      "whose weights the model keeps.", run.epochs_run, best=run.best_epoch), "note")]
    out += charts
    return out


# -- evaluation ------------------------------------------------------------------------------


def _evaluation_section(run: Any, ev: Any, settings: ReportSettings) -> list[Block]:
    from mfg_desktop.core.evaluate import METRIC_TEXT, MODEL_LABEL, metrics_table, model_columns

    if ev is None:
        return [Paragraph(tr("This model has not been evaluated on held-out rows. Evaluate it (Evaluate step, or "
                             "pass --data FILE on the command line) to include metrics, baselines, the confusion "
                             "matrix and curves."), "note")]
    out: list[Block] = [Paragraph(tr("Rows used: {rows:,} — {note}.", rows=ev.n_rows, note=ev.note))]
    if getattr(ev, "data_text", None):  # read from the model file: say which data it measured
        out.append(Paragraph(tr("Stored in the model file when the model was trained: measured on the held-out test "
                                "rows of {data}. No data was given for this report.", data=ev.data_text), "note"))
    if len(ev.models) > 1:
        label = tr(MODEL_LABEL.get(ev.model_name, ev.model_name))
        out.append(Paragraph(tr("Model: {model}, chosen on the validation rows: {reason}. The other model is shown "
                                "beside it for comparison.", model=label, reason=ev.choice_reason)))
    out += [Paragraph(n, "warning") for n in ev.notes]
    names = {"network": tr("network"), "trivial": tr("trivial baseline"), "HistGradientBoosting": tr("gradient boosting")}
    header = [tr("metric"), *(names.get(n, n) for n in model_columns(ev))]
    rows = [[tr(METRIC_TEXT.get(k, k)), *(fmt_metric(v) for v in values)] for k, values in metrics_table(ev)]
    out.append(Table(header, rows, align=["l"] + ["r"] * (len(header) - 1),
                     caption=tr("Metrics beside the baselines")))
    if ev.baseline_note:
        out.append(Paragraph(ev.baseline_note, "note"))
    if ev.task == BINARY:
        out += _threshold_blocks(ev, settings)
    if ev.task != REGRESSION and ev.confusion is not None:
        conf = ev.confusion
        out.append(Heatmap(tr("Confusion matrix (count and share of the actual class)"), list(conf.labels),
                           conf.counts.astype(int).tolist(), [[float(v) for v in r] for r in conf.shares],
                           row_title=tr("actual"), column_title=tr("predicted")))
        out += _curve_charts(ev)
        if ev.per_class:
            out.append(Table([tr("class"), tr("precision"), tr("recall"), "F1", tr("rows")],
                             [[c, fmt_metric(m["precision"]), fmt_metric(m["recall"]), fmt_metric(m["f1"]),
                               fmt_int(m["support"])] for c, m in ev.per_class.items()],
                             align=["l", "r", "r", "r", "r"], caption=tr("Per class")))
    elif ev.task == REGRESSION:
        out += _regression_charts(ev)
    if getattr(ev, "history", None) is not None:
        out += _history_result_blocks(ev.history)
    return out


# -- sensor histories ------------------------------------------------------------------------

HISTORY_TABLE_ROWS = 40  # entities listed in the per-entity table; the rest are counted


def _history_setup_blocks(spec_dict: Mapping[str, Any]) -> list[Block]:
    """The history set-up: whose rows, in which order, the label built, the windows."""
    from mfg_desktop.core.history import ORDER_TIME, HistorySpec, feature_names
    from mfg_desktop.core.i18n import tr

    spec = HistorySpec.from_dict(spec_dict)
    if spec.label == "rul":
        until = tr("hours") if spec.order_kind == ORDER_TIME else tr("rows") if not spec.order else tr("order units")
        rule = tr("remaining useful life: {unit} until the entity's last row, capped at {cap:g} (piecewise-linear)",
                  unit=until, cap=spec.rul_cap) if spec.rul_cap else \
            tr("remaining useful life: {unit} until the entity's last row", unit=until)
    elif spec.label == "fails_within":
        rule = tr("1 when the entity's last row is at most {n:g} away, else 0", n=spec.fails_within)
    else:
        rule = tr("a column of the data (not built)")
    unit = tr("seconds") if spec.order_kind == ORDER_TIME else tr("rows")
    windows = tr("none") if spec.windows == "none" else tr("{set}: the last {sizes} {unit}", set=spec.windows,
                                                             sizes=", ".join(map(str, spec.sizes)), unit=unit)
    shown = ", ".join(spec.inputs[:12]) + (" …" if len(spec.inputs) > 12 else "")
    rows = [(tr("Entity column"), spec.entity or tr("(one history)")),
            (tr("Order"), spec.order or tr("the row order in each file")),
            (tr("Label"), rule), (tr("Windows"), windows),
            (tr("Windowed inputs"), tr("{n} columns: {names}", n=len(spec.inputs), names=shown)),
            (tr("Window features"), f"{len(feature_names(spec)):,}")]
    return [Heading(tr("Histories"), 2), KeyValues(rows),
            Paragraph(tr("Window features use each row and the rows before it within its entity only; the entity, "
                         "order and source file columns are not inputs."), "note")]


def _history_result_blocks(history: Any) -> list[Block]:
    """Per entity: the headline numbers, true and predicted along a few histories, the per-entity table."""
    from mfg_desktop.core.history_eval import (
        ENTITY,
        METRIC_TEXT,
        column_text,
    )
    from mfg_desktop.core.i18n import tr

    out: list[Block] = [Heading(tr("Per entity"), 2), Paragraph(history.headline())]
    keys = [k for k in ("last_rmse", "last_mae", "all_rmse", "all_mae", "last_accuracy", "entities_alarmed",
                        "mean_lead", "entities") if k in history.metrics]
    out.append(KeyValues([(tr(METRIC_TEXT[k]), fmt_num(history.metrics[k])) for k in keys]))
    charts = []
    order_label = history.order_column or tr("row in the history")
    for name in history.chart_entities():
        c = history.curves[name]
        title = tr("{entity} {name}", entity=history.entity_column or tr("entity"), name=name)
        true_name = tr("true") if history.regression else tr("true (1 = {positive})", positive=history.positive_class)
        predicted_name = tr("predicted") if history.regression else f"p({history.positive_class})"
        charts.append(LineChart(title, order_label, tr("remaining life") if history.label == "rul" else
                                (tr("value") if history.regression else predicted_name), [
            Series(true_name, *_thin(c.order, c.true, MAX_CURVE_POINTS)),
            Series(predicted_name, *_thin(c.order, c.predicted, MAX_CURVE_POINTS)),
        ], y_range=None if history.regression else (0.0, 1.02), square=True))  # two a row: tall enough to read
    for i in range(0, len(charts), 2):
        out.append(ChartRow(charts[i:i + 2]))
    table = history.entities
    header = [history.entity_column or column_text(ENTITY)] + \
        [column_text(c, history.order_column) for c in table.columns[1:]]
    rows = [[fmt_num(v, 4) if not isinstance(v, str) else v for v in r]
            for r in table.head(HISTORY_TABLE_ROWS).itertuples(index=False, name=None)]
    caption = tr("Per entity, on the evaluated rows") if len(table) <= HISTORY_TABLE_ROWS else \
        tr("Per entity, on the evaluated rows: the first {shown} of {n} entities", shown=HISTORY_TABLE_ROWS,
           n=len(table))
    out.append(Table(header, rows, align=["l"] + ["r"] * (len(header) - 1), caption=caption))
    return out


def _threshold_blocks(ev: Any, settings: ReportSettings) -> list[Block]:
    from mfg_desktop.core.evaluate import expected_cost

    t = float(ev.threshold if ev.threshold is not None else 0.5)
    positive = ev.classes[1]
    tn, fp, fn, tp = (int(v) for v in np.asarray(ev.confusion.counts).ravel())
    kv = [(tr("Decision threshold"), f"p({positive}) ≥ {t:.3f}"),
          (tr("On the evaluated rows"), tr("{caught:,} caught, {missed:,} missed, {false_alarms:,} false alarms, "
                                           "{passes:,} correct passes", caught=tp, missed=fn, false_alarms=fp,
                                           passes=tn))]
    cm, cf = settings.cost_missed, settings.cost_false_alarm
    if cm is not None and cf is not None:
        kv.append((tr("Costs"), tr("a missed {positive} (false negative) costs {missed:g}, a false alarm {alarm:g}",
                                   positive=positive, missed=cm, alarm=cf)))
        kv.append((tr("Cost on the evaluated rows"), f"{fn * cm + fp * cf:,.1f}"))
        if ev.valid_y is not None and ev.valid_p is not None and len(ev.valid_y):
            kv.append((tr("Cost on the validation rows"),
                       trn("{cost:,.1f} ({n:,} row)", "{cost:,.1f} ({n:,} rows)", len(ev.valid_y),
                           cost=expected_cost(ev.valid_y, ev.valid_p, t, cm, cf))))
    return [Heading(tr("Threshold and cost"), 2), KeyValues(kv)]


def _curve_charts(ev: Any) -> list[Block]:
    from sklearn.metrics import precision_recall_curve, roc_curve

    from mfg_desktop.core.evaluate import HGB, MODEL_LABEL

    if not ev.curves.roc:
        return []
    binary = ev.task == BINARY
    model = tr(MODEL_LABEL.get(getattr(ev, "model_name", "network"), "network"))  # the chosen model's curves
    roc_series, pr_series = [], []
    for name, (fpr, tpr) in ev.curves.roc.items():
        label = f"{model} (AUC {fmt_metric(ev.metrics.get('roc_auc'))})" if binary else str(name)
        roc_series.append(Series(label, *_thin(fpr, tpr, MAX_CURVE_POINTS)))
    for name, (recall, precision) in ev.curves.pr.items():
        label = f"{model} (AP {fmt_metric(ev.metrics.get('pr_auc'))})" if binary else str(name)
        pr_series.append(Series(label, *_thin(recall, precision, MAX_CURVE_POINTS)))
    stored = getattr(ev, "baseline_curves", {}).get(HGB)
    boosting = tr("gradient boosting")
    if binary and stored is not None and stored.roc:  # from a model file: the points, no rows
        base = ev.baselines.get(HGB, {})
        (fpr, tpr), = stored.roc.values()
        (recall, precision), = stored.pr.values()
        roc_series.append(Series(f"{boosting} (AUC {fmt_metric(base.get('roc_auc'))})",
                                 *_thin(fpr, tpr, MAX_CURVE_POINTS)))
        pr_series.append(Series(f"{boosting} (AP {fmt_metric(base.get('pr_auc'))})",
                                *_thin(recall, precision, MAX_CURVE_POINTS)))
    elif binary and HGB in ev.baseline_outputs and len(np.unique(ev.y)) == 2:
        p = np.asarray(ev.baseline_outputs[HGB])[:, 1]
        fpr, tpr, _ = roc_curve(ev.y == 1, p)
        precision, recall, _ = precision_recall_curve(ev.y == 1, p)
        base = ev.baselines[HGB]
        roc_series.append(Series(f"{boosting} (AUC {fmt_metric(base.get('roc_auc'))})",
                                 *_thin(fpr, tpr, MAX_CURVE_POINTS)))
        pr_series.append(Series(f"{boosting} (AP {fmt_metric(base.get('pr_auc'))})",
                                *_thin(recall, precision, MAX_CURVE_POINTS)))
    roc_title = tr("ROC curve") if binary else tr("ROC curve (one class against the rest)")
    pr_title = tr("Precision-recall curve") if binary else tr("Precision-recall curve (one class against the rest)")
    roc = LineChart(roc_title, tr("false positive rate"), tr("true positive rate"), roc_series,
                    diagonal=True, x_range=(0, 1), y_range=(0, 1), square=True)
    pr = LineChart(pr_title, tr("recall"), tr("precision"), pr_series,
                   x_range=(0, 1), y_range=(0, 1.02), square=True)
    return [Heading(tr("Curves"), 2), ChartRow([roc, pr])]


def _regression_charts(ev: Any) -> list[Block]:
    stored = getattr(ev, "residual_histogram", None)
    if stored is not None:  # from a model file: the histogram, not the rows
        counts, edges = stored
        return [Heading(tr("Predictions"), 2), BarChart(tr("Residuals (actual − predicted)"), [],
                                                        [float(c) for c in counts], value_label=tr("rows"),
                                                        horizontal=False, x_edges=list(edges))]
    if getattr(ev, "y", None) is None:
        return []
    y = np.asarray(ev.y, dtype=np.float64)
    pred = np.asarray(ev.outputs, dtype=np.float64)
    if not len(y):
        return []
    keep = np.arange(len(y))
    if len(y) > MAX_SCATTER_POINTS:
        keep = np.sort(np.random.default_rng(0).choice(len(y), MAX_SCATTER_POINTS, replace=False))
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    scatter = LineChart(tr("Predicted against actual"), tr("predicted"), tr("actual"),
                        [Series(tr("rows"), pred[keep].tolist(), y[keep].tolist(), "points")],
                        diagonal=True, x_range=(lo, hi), y_range=(lo, hi), square=True)
    residuals = y - pred
    counts, edges = np.histogram(residuals, bins=30)
    hist = BarChart(tr("Residuals (actual − predicted)"), [], counts.astype(float).tolist(), value_label=tr("rows"),
                    horizontal=False, x_edges=edges.tolist())
    note = [] if len(keep) == len(y) else [Paragraph(tr("The scatter shows {shown:,} of {rows:,} rows, drawn at "
                                                        "random.", shown=len(keep), rows=len(y)), "note")]
    return [Heading(tr("Predictions"), 2), ChartRow([scatter, hist]), *note]


# -- importance ------------------------------------------------------------------------------


def _importance_section(ev: Any) -> list[Block]:
    from mfg_desktop.core.explain import MAIN_METRIC_TEXT, format_change

    imp = getattr(ev, "importance", None) if ev is not None else None
    if imp is None:
        return [Paragraph(tr("Feature importance was not measured (it comes with the evaluation)."), "note")]
    metric = tr(MAIN_METRIC_TEXT.get(imp.metric, imp.metric))
    drop = tr("drop in {metric}", metric=metric)
    mean = np.asarray(imp.mean, dtype=np.float64)
    std = np.asarray(imp.std, dtype=np.float64)
    labels = [str(c) for c in imp.columns]
    chart = BarChart(tr("Permutation importance: drop in {metric}", metric=metric), labels,
                     [0.0 if not math.isfinite(v) else float(v) for v in mean],
                     [0.0 if not math.isfinite(v) else float(v) for v in std], value_label=drop)
    rows = [[str(i), c, format_change(m), format_change(s, 2, sign=False)]
            for i, (c, m, s) in enumerate(zip(labels, mean, std, strict=True), start=1)]
    return [Paragraph(imp.note, "note"), chart,
            Table([tr("rank"), tr("column"), drop, tr("std")], rows, align=["r", "l", "r", "r"],
                  caption=trn("{n} shuffle of {rows:,} rows; score without shuffling {score}",
                              "{n} shuffles of {rows:,} rows; score without shuffling {score}", imp.n_repeats,
                              rows=imp.n_rows, score=fmt_metric(imp.baseline_score)))]


# --------------------------------------------------------------------------------------------
# the batch report


def build_batch_report(model: Any, file_scores: Sequence[Any], settings: ReportSettings | None = None
                       ) -> ReportDocument:
    """The report of scored files: a summary table, then per file its schema and drift warnings
    and the first flagged rows. ``file_scores`` are :class:`FileScore` objects or the summaries
    they write (:meth:`FileScore.to_dict`, read back from ``*_scored.summary.json``)."""
    from mfg_desktop.core.errors import MfgError

    settings = settings or ReportSettings()
    run, loaded = _run_of(model)
    summaries = [s.to_dict() if hasattr(s, "to_dict") else dict(s) for s in file_scores]
    if not summaries:
        raise MfgError(tr("There are no scored files to report on."), hint=tr("Score files on the Predict step first."))
    title = settings.title.strip() or tr("Batch scoring report")
    date = _now(settings)
    total_read = sum(int(s.get("rows_read") or 0) for s in summaries)
    total_scored = sum(int(s.get("rows_scored") or 0) for s in summaries)
    rejected_files = sum(1 for s in summaries if s.get("status") == "rejected")
    cover_rows = _identity_rows(run, loaded, settings, date)
    cover_rows += [(tr("Target"), _target_text(run)), (tr("Task"), _task_text(run.task))]
    if run.task == BINARY:
        t = run.threshold if run.threshold is not None else 0.5
        cover_rows.append((tr("Flagged when"), f"p({run.fitted.label_mapping.positive_class}) ≥ {t:.3f}"))
    cover_rows.append((tr("Files"), tr("{files} ({rejected} rejected); {scored:,} of {read:,} rows scored",
                                       files=len(summaries), rejected=rejected_files, scored=total_scored,
                                       read=total_read)))
    cover: list[Block] = [Heading(title, 0), KeyValues(cover_rows)]
    others = sorted({str(s.get("model_id")) for s in summaries if s.get("model_id") not in (None, run.id)})
    if others:
        cover.append(Paragraph(tr("Some files were scored by another model ({models}) than the one named above; "
                                  "their numbers are that model's.", models=", ".join(others)), "warning"))

    blocks: list[Block] = [Heading(tr("Summary"), 1)]
    binary = run.task == BINARY
    header = [tr("file"), tr("status"), tr("rows read"), tr("scored"), tr("rejected")] + (
        [tr("flagged"), tr("flagged share")] if binary else [])
    rows = []
    for s in summaries:
        row = [str(s.get("file")), _value_text(s.get("status")), fmt_int(s.get("rows_read")),
               fmt_int(s.get("rows_scored")), fmt_int(s.get("rows_rejected"))]
        if binary:
            scored = int(s.get("rows_scored") or 0)
            flagged = int(s.get("flagged_count") or 0)
            row += [fmt_int(flagged), fmt_share(flagged / scored) if scored else "—"]
        rows.append(row)
    blocks.append(Table(header, rows, align=["l", "l", "r", "r", "r", "r", "r"]))
    drifted = [f"{s.get('file')}: {', '.join(d['column'] for d in s.get('drift') or [] if d.get('flagged'))}"
               for s in summaries if any(d.get("flagged") for d in s.get("drift") or [])]
    if drifted:
        blocks += [Paragraph(tr("Files with drift warnings:")), Bullets(drifted, "warning")]
    for s in summaries:
        blocks += _file_blocks(s, run)
    return ReportDocument(title=title, kind="batch", header_left=_header(settings, title),
                          header_right=_header_right(run, date), cover=cover, blocks=blocks,
                          paper=settings.paper, created=date.isoformat(timespec="seconds"))


def _file_blocks(s: Mapping[str, Any], run: Any) -> list[Block]:
    out: list[Block] = [Heading(str(s.get("file")), 1)]
    rows_text = tr("{read} read, {scored} scored, {rejected} rejected", read=fmt_int(s.get("rows_read")),
                   scored=fmt_int(s.get("rows_scored")), rejected=fmt_int(s.get("rows_rejected")))
    kv = [(tr("Status"), _value_text(s.get("status"))), (tr("Rows"), rows_text)]
    if s.get("sha256"):
        kv.append(("sha256", str(s["sha256"])))
    if s.get("output"):
        kv.append((tr("Output"), str(s["output"])))
    if s.get("scored_at"):
        kv.append((tr("Scored"), _stored_time(s["scored_at"])))
    counts = s.get("class_counts") or {}
    if counts:
        total = max(sum(int(v) for v in counts.values()), 1)
        kv.append((tr("Predicted"),
                   ", ".join(f"{k}: {int(v):,} ({int(v) / total * 100:.1f} %)" for k, v in counts.items())))
    if s.get("value_summary"):
        kv.append((tr("Predicted values"), ", ".join(f"{k} {fmt_num(v)}" for k, v in s["value_summary"].items())))
    out.append(KeyValues(kv))
    if s.get("error"):
        out.append(Paragraph(str(s["error"]), "warning"))
    schema = list(s.get("schema") or [])
    rejects = list(s.get("rejects") or [])
    out.append(Heading(tr("Schema"), 2))
    if schema or rejects:
        out.append(Bullets(schema + rejects, "warning"))
    else:
        out.append(Paragraph(tr("Every required column present with the expected types."), "note"))
    drift = [d for d in s.get("drift") or [] if d.get("kind") != "datetime"]
    if drift:
        out.append(Heading(tr("Drift against the training data"), 2))
        rows = [[str(d["column"]), fmt_num(d.get("psi"), 3) if d.get("psi") is not None else "—",
                 fmt_share(d.get("out_of_range_share")), fmt_share(d.get("missing_share")),
                 "; ".join(d.get("reasons") or []) or tr("ok")] for d in drift]
        out.append(Table([tr("column"), "PSI", tr("outside training range"), tr("missing"), tr("finding")], rows,
                         align=["l", "r", "r", "r", "l"],
                         caption=tr("PSI below 0.1: stable; 0.1-0.25: moderate shift; above 0.25: significant "
                                    "shift")))
    for note in s.get("drift_notes") or []:
        out.append(Paragraph(str(note), "note"))
    flagged = s.get("flagged_rows") or {}
    if flagged.get("rows"):
        shown = len(flagged["rows"])
        out.append(Heading(tr("First flagged rows"), 2))
        rows = flagged["rows"]
        text_columns = {i for r in rows for i, v in enumerate(r) if isinstance(v, str)}  # identifiers: left
        out.append(Table([str(c) for c in flagged["columns"]], [[fmt_num(v) for v in r] for r in rows],
                         align=["l" if i in text_columns else "r" for i in range(len(flagged["columns"]))],
                         caption=tr("The first {shown} of {flagged:,} flagged rows (row: the data row in the "
                                    "file)", shown=shown, flagged=int(s.get("flagged_count") or 0))))
    for note in s.get("notes") or []:
        out.append(Paragraph(str(note), "note"))
    return out


# --------------------------------------------------------------------------------------------
# CJK


def needs_cjk(text: str) -> bool:
    """Whether ``text`` holds Chinese, Japanese or Korean characters (which need a CJK font)."""
    return any("\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff"
               or "\uff00" <= ch <= "\uffef" for ch in text)
