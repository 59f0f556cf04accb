"""The Predict step's words: the model card, a file's summary, its warnings, the status lines.

Pure functions of core results; translated in the "PredictPanel" context as before the split, and
usable without a QApplication (``QCoreApplication.translate`` is static).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication

if TYPE_CHECKING:
    from mfg_desktop.core.score import FileScore

STATUS_COLOURS = {"scored": "#1e7b34", "partial": "#9a6200", "rejected": "#b3261e"}


def tr(text: str) -> str:
    return QCoreApplication.translate("PredictPanel", text)


def no_model_html() -> str:
    return tr("<b>No model yet.</b> Open a model file (File &gt; Open model…) or train one on the Train step.")


def _metric_name(key: str) -> str:
    """A model card's metric key ("val_pr_auc") in words ("PR-AUC (validation)")."""
    from mfg_desktop.qt.evaluate.labels import metric_label

    if key.startswith("val_"):
        return tr("{metric} (validation)").format(metric=metric_label(key[len("val_"):]))
    return metric_label(key)


def model_card_html(card: dict[str, Any], source: str) -> str:
    """The model card (:func:`mfg_desktop.core.score.model_card`) as a two-column table."""
    tasks = {"binary": tr("binary classification"), "multiclass": tr("multiclass classification"),
             "regression": tr("regression")}
    metrics = "; ".join(f"{_metric_name(k)} {v:.3f}" for k, v in card["metrics"].items())
    files = ", ".join(n for n in card["training_files"] if n)
    rows = [
        (tr("Source"), source),
        (tr("Task"), tr("{task}, target {target}").format(task=tasks.get(card["task"], card["task"]),
                                                           target=card["target"])),
        (tr("Inputs"), inputs_text(card["inputs"])),
        (tr("Training data"), tr("{rows} rows{files}, fingerprint {fp}").format(
            rows=card["training_rows"], files=f" ({files})" if files else "", fp=str(card["fingerprint"])[:12])),
        (tr("Metrics"), metrics),
    ]
    if card.get("history"):
        rows.insert(2, (tr("Histories"), card["history"]))
    if card["threshold"] is not None:
        rows.append((tr("Threshold"), tr("flag when p({cls}) ≥ {t:.2f}").format(
            cls=card["positive_class"], t=card["threshold"])))
    if card["derived"]:
        rows.append((tr("Derived"), "; ".join(card["derived"])))
    rows.append((tr("Created"), tr("{created} with mfg-desktop {version}").format(
        created=str(card["created"]).replace("T", " ")[:19], version=card["app_version"])))
    cells = "".join(
        f"<tr><td style='color:#555; padding-right:12px'>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows)
    return f"<table cellspacing='0' cellpadding='1'>{cells}</table>"


CARD_INPUTS = 24  # names listed on the card; a history model has hundreds of window features


def inputs_text(inputs: list[str]) -> str:
    """The count and the first names; the rest counted, so the card never pushes the files off the page."""
    if len(inputs) <= CARD_INPUTS:
        return f"{len(inputs)}: {', '.join(inputs)}"
    return tr("{n}: {names} … and {more} more").format(n=len(inputs), names=", ".join(inputs[:CARD_INPUTS]),
                                                        more=len(inputs) - CARD_INPUTS)


def run_source(run_id: Any) -> str:
    return tr("the model trained in this session (run {id})").format(id=run_id)


def status_word(status: str) -> str:
    return {"scored": tr("scored"), "partial": tr("some rows rejected"), "rejected": tr("rejected")}[status]


def result_item_text(result: FileScore) -> str:
    return f"{result.path.name} — {status_word(result.status)}"


def result_title(result: FileScore) -> str:
    name = result.path.name
    if result.rejected:
        return tr("{name}: rejected, nothing scored").format(name=name)
    return tr("{name}: {scored:,} of {read:,} rows scored").format(
        name=name, scored=result.rows_scored, read=result.rows_read)


def warnings_html(lines: list[str]) -> str:
    return ("<b>" + html.escape(tr("Schema and drift")) + "</b><ul style='margin:0'>"
            + "".join(f"<li>{html.escape(w)}</li>" for w in lines) + "</ul>")


def summary_html(result: FileScore) -> str:
    """Counts, why rows were rejected, what was predicted, and the file's notes."""
    e = html.escape
    counts = ((tr("Rows read"), result.rows_read), (tr("Rows scored"), result.rows_scored),
              (tr("Rows rejected"), result.rows_rejected))
    parts = ["<table cellpadding='2'>" + "".join(
        f"<tr><td>{e(label)}</td><td align='right'><b>{n:,}</b></td></tr>" for label, n in counts) + "</table>"]
    if result.rejects:
        parts.append("<p><b>" + e(tr("Why rows were rejected")) + "</b><ul style='margin-top:0'>")
        for reason in result.rejects:
            parts.append("<li>" + e(tr("{why}: {rows:,} row(s), the first at data row {row}").format(
                rows=reason.rows, why=reason.text, row=reason.first_row)) + "</li>")
        parts.append("</ul></p>")
    if result.rows_scored and result.task != "regression":
        total = max(result.rows_scored, 1)
        parts.append("<p><b>" + e(tr("Predicted classes")) + "</b><br>" + "<br>".join(
            f"{e(str(c))}: {n:,} ({n / total:.1%})" for c, n in result.class_counts.items()) + "</p>")
        if result.task == "binary":
            parts.append("<p>" + e(tr("Flagged (p({cls}) ≥ {t:.2f}): {n:,} rows").format(
                cls=result.positive_class, t=result.threshold, n=result.flagged_count)) + "</p>")
    elif result.rows_scored:
        names = {"min": tr("min"), "p5": tr("5th percentile"), "median": tr("median"),
                 "mean": tr("mean"), "p95": tr("95th percentile"), "max": tr("max")}
        parts.append("<p><b>" + e(tr("Predicted values")) + "</b><br>" + "<br>".join(
            f"{e(names.get(k, k))}: {v:.4g}" for k, v in result.value_summary.items()) + "</p>")
    if result.output is not None:
        parts.append("<p style='color:#555'>" + e(tr("{seconds:.1f} s; export to keep the scored file.")
                                                   .format(seconds=result.seconds)) + "</p>")
    for note in result.notes:
        parts.append(f"<p>{e(note)}</p>")
    return "".join(parts)


def scored_text(results: list[FileScore], rejected: int) -> str:
    return tr("Scored {n} file(s), {bad} rejected.").format(n=len(results), bad=rejected)


def failed_text(exc: BaseException) -> str:
    """An expected problem is told in full; anything else goes to the error dialog."""
    from mfg_desktop.core.errors import MfgError

    return tr("Failed: {error}").format(error=exc) if isinstance(exc, MfgError) else tr("Failed.")


def table_note(shown: int, total: int) -> str:
    return tr("showing the first {shown:,} of {total:,} rows; flagged rows are red, rejected rows yellow").format(
        shown=shown, total=total)


def exported_text(paths: list[Any]) -> str:
    return tr("Exported {n} file(s) to {folder}.").format(n=len(paths), folder=paths[0].parent if paths else "")
