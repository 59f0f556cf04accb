"""The Prepare step's sentences, built from the state's facts (translated in the "PreparePanel" context).

Only ``QCoreApplication.translate`` from Qt: these work, and are tested, without a QApplication.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from mfg_desktop.core.task import REGRESSION
from mfg_desktop.qt.prepare.state import NEEDS_INPUTS, NEEDS_SPLIT, WeightAdvice

if TYPE_CHECKING:
    from mfg_desktop.core.formula import DerivedColumn
    from mfg_desktop.core.split import SplitSpec

CONTEXT = "PreparePanel"
OK_COLOR = "#1e7b34"
ERROR_COLOR = "#b3261e"
LEAK_COLOR = "#8a4b00"
# the style sheets of a status line under a form: all is well, something is wrong, a plain hint
OK_STYLE = f"color: {OK_COLOR};"
ERROR_STYLE = f"color: {ERROR_COLOR};"
HINT_STYLE = "color: #666;"


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def value_label(value: str) -> str:
    """How a recipe value reads in the table ('most_frequent' -> 'most frequent')."""
    return {
        "numeric": tr("number"),
        "categorical": tr("category"),
        "datetime": tr("date/time"),
        "drop": tr("not used"),
        "median": tr("median"),
        "mean": tr("mean"),
        "most_frequent": tr("most frequent"),
        "constant": tr("constant"),
        "none": tr("none"),
        "standard": tr("standard"),
        "minmax": tr("min-max"),
        "robust": tr("robust"),
        "onehot": tr("one-hot"),
    }.get(value, value)


def reason_text(reason: str, leak: str | None, derived: bool) -> str:
    """A row's "why": the leak suspicion first, else the proposal's reason (marked when derived)."""
    if leak is not None:
        return tr("⚠ leak: {reason}").format(reason=leak)
    if derived:
        return tr("derived column; {reason}").format(reason=reason) if reason else tr("derived column")
    return reason


def reason_html(name: str, why: str, leak: bool) -> str:
    """The full "why" of the current row, below the table (the cell is often too narrow for it)."""
    color = LEAK_COLOR if leak else "#444"
    why = why or tr("no remark")
    return f"<b>{html.escape(name)}</b>: <span style='color:{color}'>{html.escape(why)}</span>"


def formula_hint() -> str:
    return tr(
        "Columns in double quotes; + - * / ** ( ), numbers, pi, and functions such as "
        "sqrt, log, exp, abs, min, max."
    )


def formula_ok(derived: DerivedColumn) -> str:
    return tr("✓ new column '{name}' from {columns}").format(
        name=derived.name, columns=", ".join(derived.columns)
    )


def formula_in_use(name: str, users: list[str]) -> str:
    return tr("'{name}' is used by {users}; remove that first.").format(name=name, users=", ".join(users))


def split_text(spec: SplitSpec, task: str | None) -> str:
    shares = tr("{train:.0%} training, {valid:.0%} validation, {test:.0%} test").format(
        train=spec.train, valid=spec.valid, test=spec.test
    )
    if spec.method == "time":
        return tr("✓ Earliest rows by '{column}' train, later ones validate and test: {shares}.").format(
            column=spec.column, shares=shares
        )
    if spec.method == "group":
        return tr("✓ Each '{column}' value stays in one part: {shares}.").format(
            column=spec.column, shares=shares
        )
    if task == REGRESSION:
        return tr("✓ Rows drawn at random: {shares}.").format(shares=shares)
    return tr("✓ Rows drawn at random, each class in the same proportion: {shares}.").format(shares=shares)


def weights_text(advice: WeightAdvice) -> str:
    if not advice.applies:
        return tr("Regression target: class weights do not apply.")
    if advice.suggested:
        text = tr(
            "The rarest class '{cls}' is {share:.1%} of the rows (under {limit:.0%}): "
            "weights are on, so the model cannot ignore it."
        )
    else:
        text = tr(
            "The rarest class '{cls}' is {share:.1%} of the rows (not under {limit:.0%}): "
            "weights are off by default."
        )
    return text.format(cls=advice.rarest, share=advice.share, limit=advice.limit)


def pca_text(features: int, kept: int, share: float) -> str:
    return tr(
        "{n} prepared features; {k} components keep {share:.1%} of their variance "
        "(fitted on the training rows)."
    ).format(n=features, k=kept, share=share)


def header_html(
    target: str | list[str] | None, task_label: str, used: int, total: int, derived: int, needs: list[str]
) -> str:
    """The line above the page: target and task, inputs used, and what is missing before training."""
    target_name = target if isinstance(target, str) else " + ".join(target or [])
    parts = [
        tr("<b>Target:</b> {target} — {task}").format(
            target=html.escape(str(target_name)), task=html.escape(task_label)
        ),
        tr("{used} of {total} columns used as inputs").format(used=used, total=total),
    ]
    if derived:
        parts.append(tr("{n} derived").format(n=derived))
    todo = {NEEDS_INPUTS: tr("tick at least one input"), NEEDS_SPLIT: tr("fix the split")}
    if needs:
        line = tr("Before training: ") + "; ".join(todo[n] for n in needs)
        status = f"<span style='color:{ERROR_COLOR}'>{html.escape(line)}</span>"
    else:
        ready = tr("Ready to train.")  # outside the f-string, where the extractor sees it
        status = f"<span style='color:{OK_COLOR}'>{html.escape(ready)}</span>"
    return f"<span style='font-size:12pt'>{' &nbsp;·&nbsp; '.join(parts)}</span><br>{status}"
