"""The saved-work file: round trip, atomic writes, and clear refusals of damaged files."""

from __future__ import annotations

import json
import os

import pytest

from mfg_desktop.core.ingest import ReadOptions
from mfg_desktop.core.work import (
    FORMAT_VERSION,
    ModelFileRef,
    Work,
    WorkFileError,
    check_data_files,
    file_ref,
    read_options_dict,
    read_work,
    write_work,
)


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "line1.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n", encoding="utf-8")
    return path


def _work(data_file) -> Work:
    return Work(
        data_files=[file_ref(data_file)],
        read_options=read_options_dict(ReadOptions(delimiter=",", decimal=".")),
        target="y",
        recipe={"target": "y", "columns": [{"name": "a", "role": "numeric"}]},
        split={"method": "random", "column": None, "train": 0.7, "valid": 0.15, "test": 0.15, "seed": 3,
               "stratify": True},
        class_weight=True,
        training={"preset": "fast", "epochs": 2, "hidden": "16"},
        history={"entity": "unit", "order": "cycle", "label": "rul", "rul_cap": 125.0, "sizes_text": "5, 20"},
        models=[ModelFileRef(str(data_file.parent / "y_abc.mfgmodel"), "abc123")],
        steps_visited=["data", "prepare", "train"],
    )


def test_round_trip_keeps_every_part(tmp_path, data_file):
    work = _work(data_file)
    path = write_work(work, tmp_path / "session")
    assert path.name == "session.mfgwork"
    back = read_work(path)
    assert back.data_files == work.data_files
    assert back.data_files[0].sha256 == __import__("hashlib").sha256(data_file.read_bytes()).hexdigest()
    assert back.read_options == {"encoding": None, "delimiter": ",", "decimal": ".", "thousands": None,
                                 "header": None, "sheet": None}
    assert ReadOptions(**back.read_options) == ReadOptions(delimiter=",", decimal=".")
    assert (back.target, back.recipe, back.split, back.class_weight, back.training, back.history) == (
        work.target, work.recipe, work.split, work.class_weight, work.training, work.history)
    assert back.models == work.models
    assert back.steps_visited == ["data", "prepare", "train"]
    assert json.loads(path.read_text())["version"] == FORMAT_VERSION


def test_write_is_atomic_and_leaves_no_temporary(tmp_path, data_file, monkeypatch):
    path = write_work(_work(data_file), tmp_path / "w.mfgwork")
    before = path.read_bytes()
    # a failure while the new file is written keeps the old complete file and no temporary
    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    changed = _work(data_file)
    changed.target = "b"
    with pytest.raises(WorkFileError, match="No space left"):
        write_work(changed, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line1.csv", "w.mfgwork"]
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # the user's normal mode, not mkstemp's


def test_changed_and_missing_data_files_are_named(tmp_path, data_file):
    work = _work(data_file)
    other = tmp_path / "line2.csv"
    other.write_text("a,b,y\n5,6,0\n", encoding="utf-8")
    work.data_files.append(file_ref(other))
    assert check_data_files(work) == []
    data_file.write_text("a,b,y\n1,2,0\n3,4,0\n", encoding="utf-8")  # same size, other content
    other.unlink()
    problems = check_data_files(work)
    assert len(problems) == 2
    assert "line1.csv has changed" in problems[0]
    assert "line2.csv is missing" in problems[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not valid JSON"),
        (b'{"format": "mfg-desktop work", "version": 1, "data": {"fi', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested far too deeply|not valid JSON"),
        (b'{"version": 1}', "not an mfg-desktop work file"),
        (b'{"format": "mfg-desktop work", "version": "one"}', "'version'"),
        (b'{"format": "mfg-desktop work", "version": 99, "data": {}}', "format version 99"),
        (b'{"format": "mfg-desktop work", "version": 1, "data": {"files": "x.csv"}}', "'data.files' must be a list"),
        ((b'{"format": "mfg-desktop work", "version": 1, "data": {"files": [{"path": "a.csv", "sha256": "0",'
          b' "size": true}]}}'), r"'data.files\[0\].size' must be a whole number"),
        (b'{"format": "mfg-desktop work", "version": 1, "data": {"files": [], "read_options": {"evil": 1}}}',
         "unknown setting"),
        (b'{"format": "mfg-desktop work", "version": 1, "data": {"files": []}, "target": 5}', "'target'"),
        (b'{"format": "mfg-desktop work", "version": 1, "data": {"files": []}, "models": [{"path": 3}]}',
         r"'models\[0\].path'"),
        (b'{"format": "mfg-desktop work", "version": 1, "data": {"files": []}, "history": "unit"}', "'history'"),
    ],
)
def test_a_damaged_file_is_refused_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.mfgwork"
    path.write_bytes(content)
    with pytest.raises(WorkFileError, match=message) as caught:
        read_work(path)
    assert "bad.mfgwork" in str(caught.value)


def test_a_missing_or_huge_file_is_refused(tmp_path):
    with pytest.raises(WorkFileError, match="does not exist"):
        read_work(tmp_path / "nothing.mfgwork")
    huge = tmp_path / "huge.mfgwork"
    with open(huge, "wb") as fh:
        fh.truncate(9 * 1024 * 1024)
    with pytest.raises(WorkFileError, match="a work file is a few kilobytes"):
        read_work(huge)
