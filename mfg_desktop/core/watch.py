"""Watching a folder where the line drops its exports, scoring each new file once.

Polling, not OS notifications: it works the same on network shares and every platform, and a poll
every few seconds is nothing next to scoring. A file counts as complete once its size and
modification time have not changed for ``stable_s`` seconds (a PLC or MES export is written in
pieces; reading it half-written would score half a batch). Each file is scored once, remembered by
name, size and sha256 of its content in a log in the output folder (:data:`LOG_NAME`), so neither a
restart nor a rewrite with the same content (a copy tool, a sync client or a PLC touching the file:
only its modification time changed) scores it again. A file that changes afterwards (same name,
new content) is scored again into a new output, ``<stem>_scored_2.csv`` and so on, never over the
earlier one. Excel's ``~$`` lock files, hidden files and files still under a download or copy name
(``.part``, ``.crdownload``, ``.tmp``) are never read. A bad file is logged with its reason and
skipped; the watcher goes on. ``state.request_cancel()`` stops
it within a fraction of a second, also in the middle of a file (whose partial output is removed).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mfg_desktop.core.atomic import write_bytes_atomic
from mfg_desktop.core.bundle import LoadedModel
from mfg_desktop.core.errors import Cancelled, DataError
from mfg_desktop.core.i18n import tr
from mfg_desktop.core.ingest import SUPPORTED_SUFFIXES
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.score import (
    FileScore,
    ScoreOptions,
    as_loaded_model,
    is_scored_output,
    output_path,
    score_file,
)
from mfg_desktop.core.train import TrainingRun

LOG_NAME = "mfg_watch_log.json"
SLEEP_STEP_S = 0.1


@dataclass
class WatchEvent:
    """What the watcher did; ``kind``: started, waiting, scored, failed, unchanged, stopped."""

    kind: str
    message: str
    path: Path | None = None
    score: FileScore | None = None
    time: str = field(default_factory=lambda: datetime.now().strftime("%H:%M:%S"))

    def text(self) -> str:
        return f"{self.time}  {self.message}"


@dataclass
class _Seen:
    signature: tuple[int, int]
    since: float


class FolderWatcher:
    """Scores every complete new file in ``folder`` into ``out_dir``.

    ``on_event(WatchEvent)`` is called from the thread that runs :meth:`poll_once` / :meth:`run`.
    """

    def __init__(
        self,
        folder: str | Path,
        out_dir: str | Path,
        model: LoadedModel | TrainingRun,
        poll_s: float = 2.0,
        stable_s: float = 2.0,
        on_event: Callable[[WatchEvent], None] | None = None,
        options: ScoreOptions | None = None,
        chunk_rows: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.out_dir = Path(out_dir)
        if not self.folder.is_dir():
            raise DataError(tr("the folder to watch does not exist."), file=self.folder,
                            hint=tr("Choose an existing folder."))
        if os.path.normcase(os.path.abspath(self.folder)) == os.path.normcase(os.path.abspath(self.out_dir)):
            raise DataError(
                tr("the output folder must not be the watched folder."),
                file=self.out_dir,
                hint=tr("Choose a separate folder for the scored files."),
            )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.model = as_loaded_model(model)
        self.poll_s = float(poll_s)
        self.stable_s = float(stable_s)
        self.on_event = on_event
        self.options = options or ScoreOptions()
        self.chunk_rows = chunk_rows
        self.clock = clock
        self.log_path = self.out_dir / LOG_NAME
        self._seen: dict[str, _Seen] = {}
        self._waiting_told: set[str] = set()
        self.processed: dict[str, dict[str, Any]] = self._read_log()
        # name -> (size, mtime_ns) last dealt with: a file left as it is costs no hashing per poll,
        # also after a restart (the log keeps the signature next to the content's sha256).
        self._dealt_with: dict[str, tuple[int, int]] = {
            str(e.get("name")): (int(e.get("size", -1)), int(e.get("mtime_ns", -1))) for e in self.processed.values()}
        self.results: list[FileScore] = []

    # -- the log of processed files -------------------------------------------------------------
    @staticmethod
    def _key(name: str, size: int, sha256: str) -> str:
        return f"{name}|{size}|{sha256}"

    def _read_log(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.log_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # An unreadable log means: score again rather than stop watching.
            return {}
        files = data.get("files") if isinstance(data, dict) else None
        return {str(k): dict(v) for k, v in files.items()} if isinstance(files, dict) else {}

    def _write_log(self) -> None:
        payload = json.dumps({"files": self.processed}, ensure_ascii=False, indent=1).encode("utf-8")
        write_bytes_atomic(self.log_path, payload)

    def _remember(self, name: str, signature: tuple[int, int], sha256: str, status: str, message: str,
                  output: Path | None) -> None:
        self.processed[self._key(name, signature[0], sha256)] = {
            "name": name, "size": signature[0], "mtime_ns": signature[1], "sha256": sha256, "status": status,
            "message": message, "output": str(output) if output else None,
            "at": datetime.now().isoformat(timespec="seconds"),
        }
        self._dealt_with[name] = signature
        self._write_log()

    def _next_version(self, path: Path) -> int:
        """1 for a file never scored here; else the first version whose output name is free, so
        that a changed file never overwrites what its earlier content was scored into."""
        earlier = {e.get("output") for e in self.processed.values() if e.get("name") == path.name}
        if not any(earlier):
            return 1
        version = 2
        while any(str(output_path(path, self.out_dir, fmt, version)) in earlier
                  or output_path(path, self.out_dir, fmt, version).exists() for fmt in ("csv", "xlsx")):
            version += 1
        return version

    # -- polling --------------------------------------------------------------------------------
    def _emit(self, event: WatchEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _candidates(self) -> list[Path]:
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return []
        # is_scored_output also leaves out lock files (~$book.xlsx), hidden and half-copied files
        return sorted(p for p in entries if p.suffix.lower() in SUPPORTED_SUFFIXES and not is_scored_output(p)
                      and p.is_file())

    def poll_once(self, state: JobState | None = None) -> list[FileScore]:
        """Look at the folder once; score the files that are complete and new. Returns their scores."""
        state = ensure_state(state)
        now = self.clock()
        scored: list[FileScore] = []
        present = set()
        for path in self._candidates():
            state.check_cancelled()
            name = path.name
            present.add(name)
            try:
                st = path.stat()
            except OSError:
                continue  # removed or renamed meanwhile
            signature = (int(st.st_size), int(st.st_mtime_ns))
            if self._dealt_with.get(name) == signature:
                continue
            seen = self._seen.get(name)
            if seen is None or seen.signature != signature:
                self._seen[name] = _Seen(signature, now)
                if self.stable_s > 0:
                    if name not in self._waiting_told:
                        self._waiting_told.add(name)
                        self._emit(WatchEvent("waiting", tr("{name}: waiting until it is completely written",
                                                            name=name), path))
                    continue
                seen = self._seen[name]
            if now - seen.since < self.stable_s or signature[0] == 0:
                continue
            try:
                sha256 = _sha256(path, state)
            except OSError:
                continue  # removed, renamed or locked meanwhile: look again at the next poll
            if self._key(name, signature[0], sha256) in self.processed:
                # Rewritten with the very same content: only the modification time changed.
                self._dealt_with[name] = signature
                self._forget(name)
                self._emit(WatchEvent("unchanged", tr("{name}: rewritten with the same content; not scored again",
                                                      name=name), path))
                continue
            result = self._score(path, signature, sha256, state)
            if result is not None:
                scored.append(result)
        for name in list(self._seen):
            if name not in present:
                del self._seen[name]
                self._waiting_told.discard(name)
        return scored

    def _forget(self, name: str) -> None:
        self._seen.pop(name, None)
        self._waiting_told.discard(name)

    def _score(self, path: Path, signature: tuple[int, int], sha256: str, state: JobState) -> FileScore | None:
        name = path.name
        try:
            result = score_file(self.model, path, self.out_dir, self.options, state, self.chunk_rows,
                                version=self._next_version(path))
        except Cancelled:
            raise
        except PermissionError:
            return None  # still locked by the writer (Windows): try again at the next poll
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the watcher
            reason = f"{type(exc).__name__}: {exc}"  # an unexpected error: its own words, for IT
            message = tr("{name}: failed ({reason})", name=name, reason=reason)
            self._remember(name, signature, sha256, "failed", message, None)
            self._emit(WatchEvent("failed", message, path))
            return None
        if result.rejected and _locked(path):
            return None  # still locked by the writer (Windows): try again at the next poll
        self._forget(name)
        self.results.append(result)
        status = "rejected" if result.rejected else result.status
        self._remember(name, signature, sha256, status, result.summary().splitlines()[0], result.output)
        self._emit(WatchEvent("failed" if result.rejected else "scored", result.summary(), path, result))
        return result

    def run(self, state: JobState | None = None) -> list[FileScore]:
        """Poll every ``poll_s`` seconds until ``state`` is cancelled; returns what it scored."""
        state = ensure_state(state)
        self._emit(WatchEvent("started", tr("watching {folder} -> {out_dir}", folder=self.folder, out_dir=self.out_dir),
                              self.folder))
        try:
            while not state.is_interruption_requested():
                self.poll_once(state)
                deadline = self.clock() + self.poll_s
                while self.clock() < deadline and not state.is_interruption_requested():
                    time.sleep(min(SLEEP_STEP_S, max(deadline - self.clock(), 0.0)))
        except Cancelled:
            pass
        self._emit(WatchEvent("stopped", tr("stopped watching {folder}", folder=self.folder), self.folder))
        return list(self.results)


def _locked(path: Path) -> bool:
    """Whether ``path`` cannot be opened for reading now (a writer holds it locked, on Windows).
    Asked of the file, not read from the rejection's text, which is in the user's language."""
    try:
        with open(path, "rb"):
            return False
    except PermissionError:
        return True
    except OSError:
        return False


def _sha256(path: Path, state: JobState) -> str:
    """The content's sha256, read in blocks (cancel is honoured between them)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            state.check_cancelled()
    return digest.hexdigest()
