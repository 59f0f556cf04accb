"""Saved work: a small JSON project file (``.mfgwork``) that brings a session back.

It names what the session was made of, never the data itself: the data files (path, size and
sha256 fingerprint), how they were read, the target, the recipe, the split, the class-weight
choice, the training settings and the model files written in the session. Opening it re-reads
the files; :func:`check_data_files` says which are missing or have changed since.

The file is written atomically (temporary file in the same folder, fsync, ``os.replace``), so
after a crash or a kill the name holds either the old complete file or the new one. Reading it
checks the format name, the version and every field's type, and refuses a damaged file with a
message naming the file and what is wrong.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mfg_desktop import __version__
from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.i18n import tr

SUFFIX = ".mfgwork"
FORMAT_NAME = "mfg-desktop work"
FORMAT_VERSION = 1
# A work file is a few kilobytes (one entry per column of the recipe); anything far larger is not one.
MAX_BYTES = 8 * 1024 * 1024
READ_OPTION_FIELDS = ("encoding", "delimiter", "decimal", "thousands", "header", "sheet")


class WorkFileError(MfgError):
    """A saved-work file that cannot be written or read."""


@dataclass(frozen=True)
class DataFileRef:
    """One data file of the session: where it was and what it held (sha256 of its bytes)."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelFileRef:
    """A model file written (or opened) in the session, and the run it holds."""

    path: str
    run_id: str = ""
    in_predict: bool = False  # the model the Predict step scored with: opened there again on restore


@dataclass
class Work:
    """What a session was made of; every part but the data files may be missing (None)."""

    data_files: list[DataFileRef] = field(default_factory=list)
    read_options: dict[str, Any] | None = None  # core.ingest.ReadOptions as a dict
    target: str | list[str] | None = None
    recipe: dict[str, Any] | None = None  # core.recipe.Recipe.to_dict()
    split: dict[str, Any] | None = None  # core.split.SplitSpec.to_dict()
    class_weight: bool | None = None
    training: dict[str, Any] | None = None  # the Train step's settings (preset, hidden, epochs, ...)
    # the Prepare step's sensor-history set-up that was built (entity, order, label rule, windows, join)
    history: dict[str, Any] | None = None
    models: list[ModelFileRef] = field(default_factory=list)
    steps_visited: list[str] = field(default_factory=list)
    saved: str = ""
    app_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "app_version": self.app_version,
            "saved": self.saved or datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {
                "files": [asdict(f) for f in self.data_files],
                "read_options": self.read_options,
            },
            "target": self.target,
            "recipe": self.recipe,
            "split": self.split,
            "class_weight": self.class_weight,
            "training": self.training,
            "history": self.history,
            "models": [asdict(m) for m in self.models],
            "steps_visited": list(self.steps_visited),
        }

    @classmethod
    def from_dict(cls, d: Any, path: str | Path | None = None) -> Work:
        """Check and rebuild; a wrong or missing field is a :class:`WorkFileError` naming it."""
        check = _Checker(path)
        check.kind(d, dict, tr("the file"))
        if d.get("format") != FORMAT_NAME:
            raise check.error(tr("it is not an mfg-desktop work file (no 'format' marker)"))
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise check.error(tr("its 'version' field is missing or not a number"))
        if version > FORMAT_VERSION:
            raise WorkFileError(
                tr("The work file has format version {version}; this app reads version {readable}.",
                   version=version, readable=FORMAT_VERSION),
                file=path,
                hint=tr("Open it with the newer mfg-desktop that saved it."),
            )
        data = check.kind(d.get("data"), dict, "'data'")
        files = [
            DataFileRef(
                path=check.kind(f.get("path"), str, f"'data.files[{i}].path'"),
                sha256=check.kind(f.get("sha256"), str, f"'data.files[{i}].sha256'"),
                size=check.kind(f.get("size"), int, f"'data.files[{i}].size'"),
            )
            for i, f in enumerate(check.kind(data.get("files"), list, "'data.files'"))
            if check.kind(f, dict, f"'data.files[{i}]'") is not None
        ]
        options = check.optional(data.get("read_options"), dict, "'data.read_options'")
        if options is not None:
            unknown = sorted(set(options) - set(READ_OPTION_FIELDS))
            if unknown:
                raise check.error(tr("'data.read_options' has unknown setting(s) {names}", names=", ".join(unknown)))
        target = d.get("target")
        if not (target is None or isinstance(target, str) or
                (isinstance(target, list) and all(isinstance(t, str) for t in target))):
            raise check.error(tr("'target' must be a column name or a list of column names"))
        models = [
            ModelFileRef(
                path=check.kind(m.get("path"), str, f"'models[{i}].path'"),
                run_id=check.optional(m.get("run_id"), str, f"'models[{i}].run_id'") or "",
                in_predict=bool(check.optional(m.get("in_predict"), bool, f"'models[{i}].in_predict'")),
            )
            for i, m in enumerate(check.kind(d.get("models", []), list, "'models'"))
            if check.kind(m, dict, f"'models[{i}]'") is not None
        ]
        steps = check.kind(d.get("steps_visited", []), list, "'steps_visited'")
        return cls(
            data_files=files,
            read_options=options,
            target=target,
            recipe=check.optional(d.get("recipe"), dict, "'recipe'"),
            split=check.optional(d.get("split"), dict, "'split'"),
            class_weight=check.optional(d.get("class_weight"), bool, "'class_weight'"),
            training=check.optional(d.get("training"), dict, "'training'"),
            history=check.optional(d.get("history"), dict, "'history'"),
            models=models,
            steps_visited=[str(s) for s in steps],
            saved=str(d.get("saved", "")),
            app_version=str(d.get("app_version", "")),
        )


class _Checker:
    def __init__(self, path: str | Path | None) -> None:
        self.path = path

    def error(self, what: str) -> WorkFileError:
        return WorkFileError(
            tr("The work file is damaged: {what}.", what=what),
            file=self.path,
            hint=tr("Open another work file, or load the data again and save new work."),
        )

    def kind(self, value: Any, expected: type, name: str) -> Any:
        # bool is an int in Python; a size of True is as wrong as a size of "12"
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise self.error(tr("{name} must be {expected}, not {found}", name=name, expected=_kind_name(expected),
                                found=_kind_name(type(value))))
        return value

    def optional(self, value: Any, expected: type, name: str) -> Any:
        return None if value is None else self.kind(value, expected, name)


def _kind_name(kind: type) -> str:
    return {dict: tr("an object"), list: tr("a list"), str: tr("a text"), int: tr("a whole number"),
            bool: tr("true or false"), type(None): "null", float: tr("a number")}.get(kind, kind.__name__)


# --------------------------------------------------------------------------------------------
# files


_REFS: dict[tuple[str, int, int], DataFileRef] = {}
_REFS_LOCK = threading.Lock()


def file_ref(path: str | Path) -> DataFileRef:
    """A data file's entry: absolute path, size and sha256 of its bytes.

    Hashed once per version of the file (path, size, modification time): the load job hashes what it
    loaded on its worker thread, so the autosave and the restore check on the GUI thread find it done.
    """
    from mfg_desktop.core.fingerprint import file_sha256

    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _REFS_LOCK:
        known = _REFS.get(key)
    if known is None:
        known = DataFileRef(path=str(resolved), sha256=file_sha256(resolved), size=stat.st_size)
        with _REFS_LOCK:
            _REFS[key] = known
    return known


def check_data_files(work: Work) -> list[str]:
    """One line per data file that is missing or no longer what was saved (empty: all as saved)."""
    problems = []
    for ref in work.data_files:
        path = Path(ref.path)
        if not path.is_file():
            problems.append(tr("{name} is missing (was {path}).", name=path.name, path=ref.path))
            continue
        try:
            changed = path.stat().st_size != ref.size or file_ref(path).sha256 != ref.sha256
        except OSError as exc:
            problems.append(tr("{name} cannot be read ({reason}).", name=path.name, reason=exc.strerror or exc))
            continue
        if changed:
            problems.append(tr("{name} has changed since the work was saved (its fingerprint differs).",
                               name=path.name))
    return problems


def write_bytes_atomic(path: Path, data: bytes, error: type[MfgError] = WorkFileError) -> Path:
    """:func:`core.atomic.write_bytes_atomic` (temporary beside ``path``, fsync, rename), with a clear error."""
    from mfg_desktop.core import atomic

    try:
        return atomic.write_bytes_atomic(path, data)
    except OSError as exc:
        raise error(tr("Could not write the file ({reason}).", reason=exc.strerror or exc), file=path,
                    hint=tr("Check that the folder exists and is writable and the disk is not full.")) from None


def write_work(work: Work, path: str | Path) -> Path:
    """Save ``work`` as JSON at ``path`` (``.mfgwork`` added when there is no suffix), atomically."""
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(SUFFIX)
    text = json.dumps(work.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
    return write_bytes_atomic(path, text.encode("utf-8"))


def read_work(path: str | Path) -> Work:
    """Read and check a work file; anything wrong is a :class:`WorkFileError` naming the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise WorkFileError(
                tr("The file is {size:.0f} MB; a work file is a few kilobytes.", size=size / 1e6), file=path,
                hint=tr("Pick the .mfgwork file saved by File › Save work."),
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WorkFileError(tr("The work file does not exist."), file=path,
                            hint=tr("Check the path, or pick the file in File › Open work.")) from None
    except OSError as exc:
        raise WorkFileError(tr("The work file cannot be read ({reason}).", reason=exc.strerror or exc), file=path,
                            hint=tr("Check its permissions.")) from None
    try:
        d = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise WorkFileError(tr("The work file is not text (it is not UTF-8)."), file=path,
                            hint=tr("Pick the .mfgwork file saved by File › Save work.")) from None
    except json.JSONDecodeError as exc:
        raise WorkFileError(
            tr("The work file is damaged: it is not valid JSON (line {line}, column {column}: {reason}).",
               line=exc.lineno, column=exc.colno, reason=exc.msg), file=path,
            hint=tr("It may have been cut short; open another work file or save the work again.")) from None
    except RecursionError:
        raise WorkFileError(tr("The work file is damaged: it is nested far too deeply."), file=path,
                            hint=tr("Pick the .mfgwork file saved by File › Save work.")) from None
    return Work.from_dict(d, path)


def read_options_dict(options: Any) -> dict[str, Any] | None:
    """A ``core.ingest.ReadOptions`` (or None) as the plain dict stored in the file."""
    if options is None:
        return None
    return {f.name: getattr(options, f.name) for f in fields(options) if f.name in READ_OPTION_FIELDS}
