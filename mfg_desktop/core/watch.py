"""Watching a folder where the line drops its exports, scoring each new file once.

Polling, not OS notifications: it works the same on network shares and every platform, and a poll
every few seconds is nothing next to scoring. A file counts as complete once its size and
modification time have not changed for ``stable_s`` seconds (a PLC or MES export is written in
pieces; reading it half-written would score half a batch). Each file is scored once, remembered by
name, size and modification time in a log in the output folder (:data:`LOG_NAME`), so a restart does
not score it again; a file that changes afterwards (same name, new content) is scored again. A bad
file is logged with its reason and skipped; the watcher goes on. ``state.request_cancel()`` stops
it within a fraction of a second, also in the middle of a file (whose partial output is removed).
"""

from __future__ import annotations

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
from mfg_desktop.core.ingest import SUPPORTED_SUFFIXES
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.score import FileScore, ScoreOptions, as_loaded_model, is_scored_output, score_file
from mfg_desktop.core.train import TrainingRun

LOG_NAME = "mfg_watch_log.json"
SLEEP_STEP_S = 0.1


@dataclass
class WatchEvent:
    """What the watcher did; ``kind``: started, waiting, scored, failed, stopped."""

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
            raise DataError("the folder to watch does not exist.", file=self.folder, hint="Choose an existing folder.")
        if os.path.normcase(os.path.abspath(self.folder)) == os.path.normcase(os.path.abspath(self.out_dir)):
            raise DataError(
                "the output folder must not be the watched folder.",
                file=self.out_dir,
                hint="Choose a separate folder for the scored files.",
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
        self.results: list[FileScore] = []

    # -- the log of processed files -------------------------------------------------------------
    @staticmethod
    def _key(name: str, signature: tuple[int, int]) -> str:
        return f"{name}|{signature[0]}|{signature[1]}"

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

    def _remember(self, name: str, signature: tuple[int, int], status: str, message: str,
                  output: Path | None) -> None:
        self.processed[self._key(name, signature)] = {
            "name": name, "size": signature[0], "mtime_ns": signature[1], "status": status,
            "message": message, "output": str(output) if output else None,
            "at": datetime.now().isoformat(timespec="seconds"),
        }
        self._write_log()

    # -- polling --------------------------------------------------------------------------------
    def _emit(self, event: WatchEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _candidates(self) -> list[Path]:
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return []
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
            if self._key(name, signature) in self.processed:
                continue
            seen = self._seen.get(name)
            if seen is None or seen.signature != signature:
                self._seen[name] = _Seen(signature, now)
                if self.stable_s > 0:
                    if name not in self._waiting_told:
                        self._waiting_told.add(name)
                        self._emit(WatchEvent("waiting", f"{name}: waiting until it is completely written", path))
                    continue
                seen = self._seen[name]
            if now - seen.since < self.stable_s or signature[0] == 0:
                continue
            result = self._score(path, signature, state)
            if result is not None:
                scored.append(result)
        for name in list(self._seen):
            if name not in present:
                del self._seen[name]
                self._waiting_told.discard(name)
        return scored

    def _score(self, path: Path, signature: tuple[int, int], state: JobState) -> FileScore | None:
        name = path.name
        try:
            result = score_file(self.model, path, self.out_dir, self.options, state, self.chunk_rows)
        except Cancelled:
            raise
        except PermissionError:
            return None  # still locked by the writer (Windows): try again at the next poll
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the watcher
            message = f"{name}: failed ({type(exc).__name__}: {exc})"
            self._remember(name, signature, "failed", message, None)
            self._emit(WatchEvent("failed", message, path))
            return None
        if result.rejected and "permission denied" in (result.error or ""):
            return None  # still locked by the writer (Windows): try again at the next poll
        self._seen.pop(name, None)
        self._waiting_told.discard(name)
        self.results.append(result)
        status = "rejected" if result.rejected else result.status
        self._remember(name, signature, status, result.summary().splitlines()[0], result.output)
        self._emit(WatchEvent("failed" if result.rejected else "scored", result.summary(), path, result))
        return result

    def run(self, state: JobState | None = None) -> list[FileScore]:
        """Poll every ``poll_s`` seconds until ``state`` is cancelled; returns what it scored."""
        state = ensure_state(state)
        self._emit(WatchEvent("started", f"watching {self.folder} -> {self.out_dir}", self.folder))
        try:
            while not state.is_interruption_requested():
                self.poll_once(state)
                deadline = self.clock() + self.poll_s
                while self.clock() < deadline and not state.is_interruption_requested():
                    time.sleep(min(SLEEP_STEP_S, max(deadline - self.clock(), 0.0)))
        except Cancelled:
            pass
        self._emit(WatchEvent("stopped", f"stopped watching {self.folder}", self.folder))
        return list(self.results)
