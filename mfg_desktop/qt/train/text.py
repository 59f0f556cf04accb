"""The Train step's words and numbers as text: pure functions of the state's answers.

The strings are translated in the "TrainPanel" context, where they were when the panel made them
itself (``QCoreApplication.translate`` needs no application object: without a translator it
returns the English).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QCoreApplication

from mfg_desktop.qt.train.state import PreparationSummary, RunLabel, RunRow

# the runs table's columns (titles in run_column_titles): where the data names are, which are numbers
DATA_COLUMN = 1
MORE_COLUMN = 8
NUMERIC_COLUMNS = frozenset({4, 5, 6, 7, 9})  # epochs, best epoch, val loss, val metric, duration
FILES_SHOWN = 2  # more data files than this are "first, second + N more" (all in the tooltip)


# a plain name lupdate knows, with the context spelled out in each call
translate = QCoreApplication.translate


def run_column_titles() -> list[str]:
    return [
        translate("TrainPanel", "Run"),
        translate("TrainPanel", "Data"),
        translate("TrainPanel", "Target"),
        translate("TrainPanel", "Preset"),
        translate("TrainPanel", "Epochs"),
        translate("TrainPanel", "Best epoch"),
        translate("TrainPanel", "Val loss"),
        translate("TrainPanel", "Val metric"),
        translate("TrainPanel", "More (validation)"),
        translate("TrainPanel", "Duration"),
        translate("TrainPanel", "Device"),
        translate("TrainPanel", "Status"),
    ]


def clock(seconds: float) -> str:
    """0:07, 12:34, 1:02:03."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def metric_label(metric: str) -> str:
    return translate("TrainPanel", "MAE") if metric == "mae" else translate("TrainPanel", "accuracy")


def monitor_text(monitor: str | None) -> str:
    """What picks the best epoch, in words ("val PR-AUC"); None: no known quantity."""
    names = {
        "val_loss": translate("TrainPanel", "val loss"),
        "val_pr_auc": translate("TrainPanel", "val PR-AUC"),
        "val_accuracy": translate("TrainPanel", "val accuracy"),
    }
    if monitor is None:
        return translate("TrainPanel", "the validation score")
    return names.get(monitor, monitor)


def best_caption(monitor: str | None) -> str:
    if monitor is None:
        return translate("TrainPanel", "Best epoch")
    return translate("TrainPanel", "Best epoch (by {what})").format(what=monitor_text(monitor))


def epoch_text(update: Any, device: str | None) -> str:
    """The status line after an epoch: losses and the validation metric."""
    text = translate("TrainPanel", "Fitting the network on {device}: loss {loss:.4f}").format(
        device=device or "…", loss=update.loss
    )
    if update.val_loss is not None:
        text += translate("TrainPanel", ", validation loss {v:.4f}").format(v=update.val_loss)
    if update.val_metric is not None:
        text += translate("TrainPanel", ", validation {m} {v:.4f}").format(
            m=metric_label(update.metric_name), v=update.val_metric
        )
    return text


def progress_text(message: str) -> str:
    """A job's progress message as a status line: 'loading tensorflow' -> 'Loading tensorflow…'."""
    return message[:1].upper() + message[1:] + "…"


def model_label(name: str) -> str:
    """A model's name in words: "network" -> "network", "trees" -> "LightGBM trees"."""
    if name == "trees":
        return translate("TrainPanel", "LightGBM trees")
    if name == "blend":
        return translate("TrainPanel", "network + LightGBM (averaged)")
    if name == "sequence":
        return translate("TrainPanel", "sequence network")
    return translate("TrainPanel", "network")


def stage_text(stage: str) -> str:
    """The status line when ``train_run`` starts fitting ``stage``."""
    if stage == "trees":
        return translate("TrainPanel", "Fitting LightGBM trees…")
    return translate("TrainPanel", "Fitting the network…")


def stage_progress_text(stage: str, message: str) -> str:
    """A progress message during ``stage``: the trees' 'LightGBM: round 120 of at most 1000, …'
    becomes 'Fitting LightGBM trees: round 120 of at most 1000, …'."""
    prefix = "LightGBM: "
    if stage == "trees" and message.startswith(prefix):
        return translate("TrainPanel", "Fitting LightGBM trees: {what}").format(what=message[len(prefix):])
    return progress_text(message)


def outcome_text(run: Any, monitor: str | None) -> str:
    """How a training ended, which model was kept and why, and how long it took."""
    kept = ""
    if run.choice_reason:
        kept = translate("TrainPanel", "Kept the {model}: {reason}.").format(
            model=model_label(run.kept_model), reason=run.choice_reason
        )
    took = translate("TrainPanel", "Took {t}.").format(t=clock(run.duration_s))
    if run.epochs_run == 0 and run.chosen == "trees":  # the network was not asked for
        return sentences(translate("TrainPanel", "Fitted the LightGBM trees."), kept, took)
    if run.cancelled:
        text = translate(
            "TrainPanel",
            "Cancelled after {n} epochs; the best weights (epoch {best}) are kept and can be "
            "evaluated and saved.",
        )
    elif run.stopped_early:
        text = translate(
            "TrainPanel", "Stopped early after {n} epochs: {what} no longer improved; best epoch {best}."
        )
    else:
        text = translate("TrainPanel", "Finished {n} epochs; best epoch {best}.")
    return sentences(text.format(n=run.epochs_run, best=run.best_epoch, what=monitor_text(monitor)), kept, took)


def sentences(*parts: str) -> str:
    """Whole sentences one after another, as the language writes them (Chinese: no space after 。)."""
    text = ""
    for part in (p for p in parts if p):
        text = translate("TrainPanel", "{first} {then}").format(first=text, then=part) if text else part
    return text


def missing_text(missing: str) -> str:
    """What to do before training ("data": no target yet; "prepare": no recipe or split)."""
    if missing == "data":
        text = translate("TrainPanel", "Load data and pick a target first.")
    else:
        text = translate("TrainPanel", "Finish the Prepare step: choose the inputs and a valid split.")
    return f"<span style='color:#8a5a00'>{text}</span>"


def summary_html(summary: PreparationSummary) -> str:
    """Target · inputs · split · derived · PCA · class weights, as one rich-text line."""
    train, valid, test = summary.shares
    parts = [
        translate("TrainPanel", "<b>Target:</b> {t}").format(t=html.escape(summary.target)),
        translate("TrainPanel", "{n} inputs").format(n=summary.inputs),
        translate("TrainPanel", "{m} split {a:.0%} / {b:.0%} / {c:.0%}").format(
            m=html.escape(split_label(summary.split_method)), a=train, b=valid, c=test
        ),
    ]
    if summary.derived:
        parts.append(translate("TrainPanel", "{n} derived").format(n=summary.derived))
    if summary.pca:
        parts.append(translate("TrainPanel", "PCA"))
    if summary.class_weights is not None:
        parts.append(
            translate("TrainPanel", "class weights on")
            if summary.class_weights
            else translate("TrainPanel", "class weights off")
        )
    return " &nbsp;·&nbsp; ".join(parts)


def split_label(method: str) -> str:
    """A split's command-line form ("random", "time:COL", "group:COL") in words."""
    kind, _, column = method.partition(":")
    if kind == "time":
        return translate("TrainPanel", "by time ({column})").format(column=column)
    if kind == "group":
        return translate("TrainPanel", "by group ({column})").format(column=column)
    return translate("TrainPanel", "random")


def preset_label(name: str) -> str:
    names = {"fast": translate("TrainPanel", "fast"), "balanced": translate("TrainPanel", "balanced"),
             "thorough": translate("TrainPanel", "thorough")}
    return names.get(name, name)


def label_text(label: RunLabel | None) -> str:
    if label is None:
        return translate("TrainPanel", "—")
    name = preset_label(label.preset)
    return translate("TrainPanel", "{name} (edited)").format(name=name) if label.edited else name


def data_text(row: RunRow) -> str:
    """The data files' names; past two, the first two and how many more."""
    if not row.files:
        return (
            translate("TrainPanel", "table, {n:,} rows").format(n=row.rows) if row.rows is not None else "—"
        )
    if len(row.files) <= FILES_SHOWN:
        return ", ".join(row.files)
    return translate("TrainPanel", "{names} + {n} more").format(
        names=", ".join(row.files[:FILES_SHOWN]), n=len(row.files) - FILES_SHOWN
    )


def data_tooltip(row: RunRow) -> str:
    lines = list(row.files) or [translate("TrainPanel", "a table without a file name")]
    if row.rows is not None:
        lines.append(translate("TrainPanel", "{n:,} rows").format(n=row.rows))
    return "\n".join(lines)


def outcome_label(outcome: str) -> str:
    if outcome == "cancelled":
        return translate("TrainPanel", "cancelled (best weights kept)")
    if outcome == "stopped early":
        return translate("TrainPanel", "stopped early")
    return translate("TrainPanel", "finished")


def run_cells(row: RunRow) -> list[str]:
    """The runs table's cells for ``row``, in the order of :func:`run_column_titles`."""
    names = {
        "val_roc_auc": "ROC-AUC",
        "val_pr_auc": "PR-AUC",
        "val_rmse": "RMSE",
        "val_r2": "R²",
        "val_balanced_accuracy": translate("TrainPanel", "balanced acc."),
    }
    main = f"{metric_label(row.metric)} {row.metric_value:.4f}" if row.metric_value is not None else "—"
    return [
        f"#{row.number}  {row.run_id[:6]}",
        data_text(row),
        row.target,
        label_text(row.label),
        f"{row.epochs_run} / {row.max_epochs}",
        str(row.best_epoch),
        f"{row.best_val_loss:.4f}" if row.best_val_loss is not None else "—",
        main,
        " · ".join([model_label(row.chosen)] + [f"{names.get(k, k)} {v:.3f}" for k, v in row.more]),
        clock(row.duration_s),
        row.device,
        outcome_label(row.outcome),
    ]
