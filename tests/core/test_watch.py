"""The folder watcher: waits for complete files, scores each content once (not again when only the
modification time changed), a changed file into a new output, never lock or half-copied files;
survives bad files, stops."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.errors import DataError
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.score import expand_inputs, is_lock_or_partial
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run
from mfg_desktop.core.watch import LOG_NAME, FolderWatcher

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig").sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def model(ai4i, tmp_path_factory):
    train = ai4i.iloc[:2000]
    recipe = propose_recipe(train, "Machine_failure", exclude=LEAKS)
    run = train_run(train, recipe, SplitSpec(), preset("fast").with_changes(epochs=2), seed=1)
    return load_model_file(save_model_file(run, tmp_path_factory.mktemp("model") / "m.mfgmodel"))


@pytest.fixture(scope="module")
def batch_bytes(ai4i) -> bytes:
    return ai4i.iloc[3000:3600].to_csv(index=False).encode("utf-8")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    line, out = tmp_path / "line", tmp_path / "scored"
    line.mkdir()
    return line, out


def test_a_file_still_being_written_is_not_read_until_stable(model, folders, batch_bytes):
    line, out = folders
    clock = Clock()
    events = []
    watcher = FolderWatcher(line, out, model, poll_s=1, stable_s=2, on_event=events.append, clock=clock)
    target = line / "batch_0412.csv"
    half = len(batch_bytes) // 2
    target.write_bytes(batch_bytes[:half])
    assert watcher.poll_once() == []
    clock.now = 1.5
    with open(target, "ab") as fh:  # the line writes on
        fh.write(batch_bytes[half:])
    assert watcher.poll_once() == []  # changed since the last look: the clock starts again
    clock.now = 3.0
    assert watcher.poll_once() == []  # unchanged for 1.5 s only
    clock.now = 3.6
    [result] = watcher.poll_once()
    assert result.rows_read == result.rows_scored == 600  # the whole file, not the half
    assert (out / "batch_0412_scored.csv").is_file()
    assert [e.kind for e in events] == ["waiting", "scored"]
    clock.now = 10
    assert watcher.poll_once() == []  # scored once


def test_a_file_written_slowly_in_pieces_is_scored_once_whole(model, folders, batch_bytes):
    line, out = folders
    scored = []
    watcher = FolderWatcher(line, out, model, poll_s=0.05, stable_s=0.6,
                            on_event=lambda e: scored.append(e.score) if e.kind == "scored" else None)
    state = JobState()
    thread = threading.Thread(target=watcher.run, args=(state,))
    thread.start()
    try:
        step = len(batch_bytes) // 5 + 1
        pieces = [batch_bytes[i:i + step] for i in range(0, len(batch_bytes), step)]
        with open(line / "slow.csv", "wb") as fh:
            for piece in pieces:
                fh.write(piece)
                fh.flush()
                time.sleep(0.25)
        deadline = time.monotonic() + 30
        while not scored and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # time for a second (wrong) scoring, were there one
    finally:
        state.request_cancel()
        thread.join(10)
    assert not thread.is_alive()
    assert len(scored) == 1 and scored[0].rows_scored == 600


def test_a_restart_does_not_score_again_but_a_changed_file_is(model, folders, batch_bytes):
    line, out = folders
    (line / "a.csv").write_bytes(batch_bytes)
    first = FolderWatcher(line, out, model, stable_s=0)
    assert len(first.poll_once()) == 1
    log = json.loads((out / LOG_NAME).read_text(encoding="utf-8"))
    [entry] = log["files"].values()
    assert entry["name"] == "a.csv" and entry["status"] == "scored" and entry["output"].endswith("a_scored.csv")

    again = FolderWatcher(line, out, model, stable_s=0)
    assert again.poll_once() == []
    (line / "a.csv").write_bytes(batch_bytes[: len(batch_bytes) // 2].rsplit(b"\n", 1)[0] + b"\n")
    assert len(again.poll_once()) == 1


def test_a_bad_file_is_logged_and_the_watcher_goes_on(model, folders, batch_bytes):
    line, out = folders
    (line / "a_broken.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (line / "b_wrong_columns.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    (line / "c_good.csv").write_bytes(batch_bytes)
    events = []
    watcher = FolderWatcher(line, out, model, stable_s=0, on_event=events.append)
    results = watcher.poll_once()
    assert [r.status for r in results] == ["rejected", "rejected", "scored"]
    assert [e.kind for e in events] == ["failed", "failed", "scored"]
    assert "PNG image" in events[0].message and "missing required column" in events[1].message
    assert sorted(p.name for p in out.iterdir()) == ["c_good_scored.csv", LOG_NAME]
    assert watcher.poll_once() == []  # the bad files are not retried while unchanged


def test_stop_ends_the_watcher_promptly(model, folders):
    line, out = folders
    events = []
    watcher = FolderWatcher(line, out, model, poll_s=30, stable_s=0, on_event=events.append)
    state = JobState()
    thread = threading.Thread(target=watcher.run, args=(state,))
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    state.request_cancel()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 1.0
    assert [e.kind for e in events] == ["started", "stopped"]


def test_the_output_folder_must_differ_from_the_watched_one(model, folders):
    line, _ = folders
    with pytest.raises(DataError, match="must not be the watched folder"):
        FolderWatcher(line, line, model)
    with pytest.raises(DataError, match="does not exist"):
        FolderWatcher(line / "nope", line.parent / "o", model)


def test_a_rewrite_with_the_same_content_is_not_scored_again_also_after_a_restart(model, folders, batch_bytes):
    line, out = folders
    target = line / "a.csv"
    target.write_bytes(batch_bytes)
    events = []
    watcher = FolderWatcher(line, out, model, stable_s=0, on_event=events.append)
    assert len(watcher.poll_once()) == 1
    scored_bytes = (out / "a_scored.csv").read_bytes()
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched: mtime alone changed
    assert watcher.poll_once() == []
    target.write_bytes(batch_bytes)  # rewritten by a copy tool: same bytes, new mtime
    assert watcher.poll_once() == []
    assert [e.kind for e in events] == ["scored", "unchanged", "unchanged"]
    assert "same content" in events[1].message
    assert watcher.poll_once() == [] and len(events) == 3  # told once per rewrite, not every poll
    restarted = FolderWatcher(line, out, model, stable_s=0)
    assert restarted.poll_once() == []
    assert sorted(p.name for p in out.iterdir()) == ["a_scored.csv", LOG_NAME]
    assert (out / "a_scored.csv").read_bytes() == scored_bytes


def test_lock_hidden_and_half_copied_files_are_never_scored(model, folders, batch_bytes):
    line, out = folders
    # Each holds a scoreable table: only its name says it is not data (yet).
    ignored = ["~$batch.xlsx", "~$batch.csv", ".hidden.csv", ".~lock.batch.xlsx#", "batch.csv.part",
               "batch.csv.crdownload", "batch.tmp.csv", "batch.part.csv", "batch.csv.tmp"]
    for name in ignored:
        (line / name).write_bytes(batch_bytes)
    (line / "batch.csv").write_bytes(batch_bytes)
    events = []
    watcher = FolderWatcher(line, out, model, stable_s=0, on_event=events.append)
    [result] = watcher.poll_once()
    assert result.path.name == "batch.csv" and [e.kind for e in events] == ["scored"]
    assert sorted(p.name for p in out.iterdir()) == ["batch_scored.csv", LOG_NAME]
    assert [p.name for p in expand_inputs([line])] == ["batch.csv"]  # a folder given to predict alike
    assert all(is_lock_or_partial(line / name) for name in ignored) and not is_lock_or_partial(line / "batch.csv")


def test_a_changed_file_gets_a_new_output_and_the_earlier_one_is_kept(model, folders, batch_bytes):
    line, out = folders
    target = line / "a.csv"
    rows = batch_bytes.split(b"\n")
    target.write_bytes(batch_bytes)
    watcher = FolderWatcher(line, out, model, stable_s=0)
    [first] = watcher.poll_once()
    assert first.output == out / "a_scored.csv"
    first_bytes = first.output.read_bytes()
    target.write_bytes(b"\n".join(rows[:301]) + b"\n")  # the line re-exported it: 300 rows now
    [second] = watcher.poll_once()
    assert second.output == out / "a_scored_2.csv" and second.rows_read == 300
    assert (out / "a_scored.csv").read_bytes() == first_bytes  # the earlier output is untouched
    restarted = FolderWatcher(line, out, model, stable_s=0)
    target.write_bytes(b"\n".join(rows[:101]) + b"\n")
    [third] = restarted.poll_once()
    assert third.output == out / "a_scored_3.csv" and third.rows_read == 100
    log = json.loads((out / LOG_NAME).read_text(encoding="utf-8"))["files"]
    assert sorted(Path(e["output"]).name for e in log.values()) == ["a_scored.csv", "a_scored_2.csv", "a_scored_3.csv"]
    assert all(len(e["sha256"]) == 64 for e in log.values())
    assert len(pd.read_csv(out / "a_scored_2.csv", encoding="utf-8-sig")) == 300
