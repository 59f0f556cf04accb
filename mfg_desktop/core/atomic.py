"""Writing a file so that a crash or ``kill -9`` at any moment never leaves it half written.

Every file the app writes goes through :class:`AtomicFile` (or its context-manager form
:func:`atomic_write`): the bytes go to a temporary file in the same folder (same file system, so
the final rename is atomic), are flushed and fsynced, and the temporary is renamed over the final
name with :func:`os.replace`. The final name therefore holds either the old complete file or the new
complete one.

The temporary is named ``.<final name>.<pid>-<random>.mfgtmp<final suffix>`` (for example
``.a_scored.csv.4242-0a1b2c3d.mfgtmp.csv``; the suffix lets a reader that goes by it read the
temporary back, as the Excel export does with the scored CSV): hidden (never mistaken for an
input by a folder scan or the watched folder), recognisable as ours, and carrying the writer's
process id. A ``kill -9`` leaves it behind; the next write into that folder removes such leftovers
(:func:`remove_stale_temporaries`) when they are older than this process and their writer is no
longer running: never someone else's file, never a write in progress.

Unlike :func:`tempfile.mkstemp` (always mode 0600) the temporary is created with mode 0666 minus
the umask, the permissions any other program gives a new file, so colleagues on a shared drive can
open the model, the scored files and the report; a file being replaced keeps its mode.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

TEMP_SUFFIX = ".mfgtmp"
# ".<final name>.<pid>-<token>.mfgtmp<final suffix>"; the final name may itself contain dots.
_TEMP_NAME = re.compile(r"^\.(?P<final>.+)\.(?P<pid>\d+)-[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + r"(\.[^.]*)?$")
# Stale temporaries are looked for once per folder per process: a scan per write would cost a
# directory listing for every scored file of a large batch.
_cleaned_folders: set[str] = set()
_cleaned_lock = threading.Lock()


def _process_start_time() -> float:
    """Wall-clock time this process started (Linux: from /proc; elsewhere: when this module loaded)."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat(5), counted after the ")" that ends the command name
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time()


PROCESS_STARTED = _process_start_time()


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is one of this module's temporaries (complete or left by a killed writer)."""
    return _TEMP_NAME.match(Path(path).name) is not None


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return False  # no cheap check; the age test alone decides there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str], *, older_than: float | None = None) -> list[Path]:
    """Remove the temporaries a killed writer left in ``folder``; returns those removed.

    Only our own names (:func:`is_temporary`), only files last modified before ``older_than``
    (default: when this process started) and only when the process that wrote them is gone.
    """
    cutoff = PROCESS_STARTED if older_than is None else older_than
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            if _pid_running(int(match["pid"])):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _clean_once(folder: Path) -> None:
    key = os.path.normcase(os.path.abspath(folder))
    with _cleaned_lock:
        if key in _cleaned_folders:
            return
        _cleaned_folders.add(key)
    remove_stale_temporaries(folder)


def _mode_for(path: Path) -> int | None:
    """The mode to give the new file: that of the file it replaces, else None (umask decides)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None


class AtomicFile:
    """A temporary file next to ``path`` that becomes ``path`` only on :meth:`commit`.

    ``handle`` is open for binary writing; :attr:`temp_path` may also be handed to a library that
    writes by file name (close ``handle`` first with :meth:`close_handle`). :meth:`discard` removes
    the temporary; either must be called (the context manager :func:`atomic_write` does it).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        _clean_once(folder)
        while True:
            name = f".{self.path.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}{self.path.suffix}"
            self.temp_path = folder / name
            try:
                # 0o666 under the umask: the permissions a file written by any other program gets.
                fd = os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                             0o666)
                break
            except FileExistsError:
                continue
        self.handle: IO[bytes] | None = os.fdopen(fd, "wb")
        self._done = False
        self._synced = False

    def close_handle(self, sync: bool = True) -> None:
        """Close the handle, flushed and (``sync``) fsynced; the temporary stays until commit/discard.

        ``sync=False`` when a library is about to rewrite :attr:`temp_path` by name: commit then
        fsyncs what it wrote.
        """
        if self.handle is not None:
            handle, self.handle = self.handle, None
            try:
                handle.flush()
                if sync:
                    os.fsync(handle.fileno())
                    self._synced = True
            finally:
                handle.close()

    def commit(self) -> Path:
        """Make the temporary the file at ``path`` (fsynced first); returns ``path``."""
        if self._done:
            raise RuntimeError("this atomic write is already finished")
        try:
            self.close_handle()
            if not self._synced:  # rewritten by name (a library saving to temp_path)
                _fsync_path(self.temp_path)
            mode = _mode_for(self.path)
            if mode is not None:
                os.chmod(self.temp_path, mode)
            os.replace(self.temp_path, self.path)
        except BaseException:
            self.discard()
            raise
        self._done = True
        _fsync_dir(self.path.parent if str(self.path.parent) else Path("."))
        return self.path

    def discard(self) -> None:
        """Remove the temporary; the file at ``path`` stays as it was."""
        if self._done:
            return
        self._done = True
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.handle.close()
            self.handle = None
        with contextlib.suppress(OSError):
            os.unlink(self.temp_path)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[AtomicFile]:
    """``with atomic_write(path) as out: out.handle.write(...)``: committed when the block ends
    normally, discarded (``path`` untouched) when it raises."""
    atomic = AtomicFile(path)
    try:
        yield atomic
    except BaseException:
        atomic.discard()
        raise
    atomic.commit()


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_write(path) as out:
        assert out.handle is not None
        out.handle.write(data)
    return Path(path)


_SCRATCH_DIR = re.compile(r"^mfg_scratch_(?P<pid>\d+)_[0-9a-f]{8}$")


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A private folder in the system's temp folder for files a library insists on reading or
    writing by name (Keras' weights), removed afterwards; the ones a killed process left
    (``mfg_scratch_<pid>_<random>``, writer gone, older than this process) are removed first."""
    base = Path(tempfile.gettempdir())
    _remove_stale_scratch(base)
    path = base / f"mfg_scratch_{os.getpid()}_{secrets.token_hex(4)}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _remove_stale_scratch(base: Path) -> None:
    key = "scratch:" + os.path.normcase(os.path.abspath(base))
    with _cleaned_lock:
        if key in _cleaned_folders:
            return
        _cleaned_folders.add(key)
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        match = _SCRATCH_DIR.match(entry.name)
        try:
            if (match is None or not entry.is_dir(follow_symlinks=False)
                    or entry.stat(follow_symlinks=False).st_mtime >= PROCESS_STARTED
                    or _pid_running(int(match["pid"]))):
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
