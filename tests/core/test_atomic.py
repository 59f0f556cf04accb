"""The one atomic-write helper: old or new file, never half; the umask's permissions; only our own
stale temporaries of dead writers are removed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from mfg_desktop.core import atomic
from mfg_desktop.core.atomic import (
    AtomicFile,
    atomic_write,
    is_temporary,
    remove_stale_temporaries,
    write_bytes_atomic,
)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")
    with pytest.raises(OSError), atomic_write(target) as out:
        out.handle.write(b"half of the new")
        raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["report.pdf"]
    assert write_bytes_atomic(target, b"new").read_bytes() == b"new" and os.listdir(tmp_path) == ["report.pdf"]


def test_the_temporary_is_hidden_ours_and_keeps_the_suffix(tmp_path):
    scratch = AtomicFile(tmp_path / "batch_scored.csv")
    name = scratch.temp_path.name
    assert name.startswith(".batch_scored.csv.") and name.endswith(".mfgtmp.csv") and f".{os.getpid()}-" in name
    assert is_temporary(scratch.temp_path) and not is_temporary(tmp_path / "batch_scored.csv")
    scratch.discard()
    assert not scratch.temp_path.exists()


def test_new_files_get_the_umask_permissions_and_a_replaced_file_keeps_its_mode(tmp_path):
    old_mask = os.umask(0o027)
    try:
        assert write_bytes_atomic(tmp_path / "new.csv", b"a").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old_mask)
    kept = tmp_path / "kept.csv"
    kept.write_bytes(b"a")
    kept.chmod(0o664)
    assert write_bytes_atomic(kept, b"b").stat().st_mode & 0o777 == 0o664


def test_only_our_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    long_ago = time.time() - 3600
    names = {
        "stale": f".m.mfgmodel.{dead}-0a1b2c3d.mfgtmp.mfgmodel",  # dead writer, older than us: removed
        "running": f".m.mfgmodel.{alive}-0a1b2c3d.mfgtmp.mfgmodel",  # a writer still running
        "recent": f".r.pdf.{dead}-1a1b2c3d.mfgtmp.pdf",  # dead writer, but written after we started
        "not ours": ".r.pdf.ab12cd.tmp",  # someone else's naming
        "plain": "notes.mfgtmp",
    }
    for key, name in names.items():
        path = tmp_path / name
        path.write_bytes(b"x")
        if key != "recent":
            os.utime(path, (long_ago, long_ago))
    removed = remove_stale_temporaries(tmp_path, older_than=time.time() - 60)
    assert [p.name for p in removed] == [names["stale"]]
    assert sorted(os.listdir(tmp_path)) == sorted(n for k, n in names.items() if k != "stale")


def test_the_first_write_into_a_folder_cleans_it_once(tmp_path, monkeypatch):
    stale = tmp_path / f".a.csv.{_dead_pid()}-0a1b2c3d.mfgtmp.csv"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    monkeypatch.setattr(atomic, "PROCESS_STARTED", time.time())  # as if this process started just now
    write_bytes_atomic(tmp_path / "a.csv", b"complete")
    assert sorted(os.listdir(tmp_path)) == ["a.csv"]


def test_a_scratch_folder_is_removed_and_a_killed_process_s_one_too(tmp_path, monkeypatch):
    import tempfile

    from mfg_desktop.core.atomic import scratch_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"mfg_scratch_{_dead_pid()}_0a1b2c3d"
    stale.mkdir()
    (stale / "model.weights.h5").write_bytes(b"half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    running = tmp_path / f"mfg_scratch_{os.getpid()}_0a1b2c3d"  # this process's: still in use
    running.mkdir()
    os.utime(running, (time.time() - 3600, time.time() - 3600))
    monkeypatch.setattr(atomic, "PROCESS_STARTED", time.time())
    with scratch_dir() as folder:
        (folder / "model.weights.h5").write_bytes(b"weights")
        assert sorted(os.listdir(tmp_path)) == sorted([folder.name, running.name])
    assert os.listdir(tmp_path) == [running.name]
