"""The Data step's words: the summary line, the file settings, a column's notes, the target's report.

Pure functions of core results; translated in the "DataPanel" context as before the split, and
usable without a QApplication (``QCoreApplication.translate`` is static).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication

from mfg_desktop.qt.data.state import ColumnNotes, TargetOption, other_target_warnings

if TYPE_CHECKING:
    from mfg_desktop.core.ingest import LoadedData
    from mfg_desktop.core.profile import DataProfile, TargetReport

# how many members of a one-hot group the target picker names before "…"
GROUP_NAMES_SHOWN = 3
FILES_NAMED = 4


def tr(text: str) -> str:
    return QCoreApplication.translate("DataPanel", text)


def task_text(task: str) -> str:
    return {
        "binary": tr("binary classification (two classes)"),
        "multiclass": tr("multiclass classification"),
        "regression": tr("regression (predict a number)"),
    }.get(task, task)


def bytes_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def settings_text(settings: Any) -> str:
    """'UTF-8 with BOM · delimiter ; · decimal ,' for a core FileSettings (CSV) or the sheet (Excel)."""
    parts = []
    if getattr(settings, "sheet", None) not in (None, ""):
        parts.append(tr("sheet {sheet}").format(sheet=settings.sheet))
    encoding = getattr(settings, "encoding", None)
    if encoding:
        parts.append(tr("encoding {e}").format(e=encoding))
    delimiter = getattr(settings, "delimiter", None)
    if delimiter:
        shown = {"\t": tr("Tab"), " ": tr("space")}.get(delimiter, delimiter)
        if delimiter not in ("\t", " ", ",", ";", "|"):
            shown = tr("whitespace")
        parts.append(tr("delimiter {d}").format(d=shown if len(shown) > 1 else f"'{shown}'"))
    decimal = getattr(settings, "decimal", None)
    if decimal and decimal != ".":
        parts.append(tr("decimal {d}").format(d=decimal))
    return " · ".join(parts)


def summary_html(data: LoadedData, profile: DataProfile | None) -> str:
    """The file (or files) loaded, rows, columns and, once profiled, duplicates and memory."""
    frame = data.frame
    files = list(getattr(data, "files", []) or [])
    if len(files) == 1:
        source = html.escape(Path(str(files[0].path)).name)
        details = html.escape(settings_text(files[0]))
    else:
        source = html.escape(tr("{n} files").format(n=len(files)))
        details = html.escape(", ".join(Path(str(f.path)).name for f in files[:FILES_NAMED])
                              + (" …" if len(files) > FILES_NAMED else ""))
    parts = [tr("{rows:,} rows").format(rows=len(frame)), tr("{cols} columns").format(cols=frame.shape[1])]
    if profile is not None:
        parts.append(tr("{n:,} duplicate rows").format(n=profile.duplicate_rows))
        parts.append(tr("{size} in memory").format(size=bytes_text(profile.memory_bytes)))
    stats = " · ".join(html.escape(p) for p in parts)
    return (f"<span style='font-size:13pt; font-weight:600'>{source}</span>&nbsp;&nbsp; {stats}"
            f"<br><span style='color:#666'>{details}</span>")


def profile_status(profile: DataProfile) -> str:
    flagged = sum(1 for c in profile.columns if c.warnings)
    return tr("{n} columns, {flagged} with warnings. Select a row for details.").format(
        n=len(profile.columns), flagged=flagged)


def _items(lines: list[str]) -> str:
    return "".join(f"<li>{html.escape(w)}</li>" for w in lines)


def quality_notes_html(profile: DataProfile, notes: ColumnNotes | None) -> str:
    """A column's notes (target, likely leak, warnings), then the table-wide ones."""
    blocks = []
    if notes is not None:
        lines = [tr("Likely leak: {reason}").format(reason=r) for r in notes.leak_reasons]
        if notes.is_target:
            lines.append(tr("This is the target."))
        lines += notes.warnings
        none_found = tr("No problems found.")  # outside the f-string, where the extractor sees it
        items = _items(lines) or f"<li>{html.escape(none_found)}</li>"
        blocks.append(f"<b>{html.escape(notes.name)}</b><ul style='margin:2px'>{items}</ul>")
    if profile.warnings:
        whole = tr("Whole table")
        blocks.append(f"<b>{html.escape(whole)}</b><ul style='margin:2px'>{_items(profile.warnings)}</ul>")
    elif notes is None:
        blocks.append(html.escape(tr("No table-wide problems found.")))
    return "".join(blocks)


def option_label(option: TargetOption) -> str:
    """A column's name; a group as 'Fault (7 columns: Pastry_Fault, Z_Scratch_Fault, …)'."""
    if not option.is_group:
        return str(option.target)
    from mfg_desktop.core.task import _group_name

    group = option.columns
    shown = ", ".join(group[:GROUP_NAMES_SHOWN]) + (", …" if len(group) > GROUP_NAMES_SHOWN else "")
    return tr("{name} ({n} columns: {columns})").format(name=_group_name(group), n=len(group), columns=shown)


def choose_target_hint() -> str:
    return tr("Pick the column the model should predict, e.g. pass/fail, failure or fault type.")


def suggested_hint() -> str:
    return tr("Suggested from the columns' names and values; pick another if the model should predict "
              "something else.")


def task_html(report: TargetReport) -> str:
    task = task_text(report.task)
    if report.task == "multiclass" and report.class_counts:
        task = tr("{task}, {n} classes").format(task=task, n=len(report.class_counts))
    return tr("<b>Task:</b> {task}").format(task=html.escape(task))


def report_html(report: TargetReport) -> str:
    """The likely leaks (or that none were found) and the report's other notes."""
    parts = []
    if report.leak_suspects:
        title = tr("Likely leaks — leave these out of the inputs ({n})").format(n=len(report.leak_suspects))
        items = "".join(f"<li><b>{html.escape(s.column)}</b>: {html.escape(s.reason)}</li>"
                        for s in report.leak_suspects)
        parts.append(f"<p style='color:#b3261e; font-weight:600; margin:0'>⚠ {html.escape(title)}</p>"
                     f"<ul style='margin-top:2px'>{items}</ul>")
    else:
        no_leaks = tr("No likely leaks found.")
        parts.append(f"<p style='color:#2e7d32'>{html.escape(no_leaks)}</p>")
    others = other_target_warnings(report)
    if others:
        parts.append(f"<p style='font-weight:600; margin:0'>{html.escape(tr('Notes'))}</p><ul>{_items(others)}</ul>")
    return "".join(parts)
