"""The model file: round trip, and refusal of truncated, altered, foreign, newer and pickled files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core import bundle
from mfg_desktop.core.bundle import FORMAT_VERSION, LoadedModel, load_model_file, save_model_file
from mfg_desktop.core.errors import ModelFileError
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

SPEC = NetworkSpec(hidden=[16], epochs=2, batch_size=128, n_bins=6, embedding_dim=3)


@pytest.fixture(scope="module")
def frame(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:1500].reset_index(drop=True)


@pytest.fixture(scope="module")
def run(frame):
    recipe = propose_recipe(frame, "Machine_failure", exclude=["UDI", "TWF", "HDF", "PWF", "OSF", "RNF"])
    return train_run(frame, recipe, SplitSpec(), SPEC, seed=2)


@pytest.fixture(scope="module")
def saved(run, tmp_path_factory) -> Path:
    return save_model_file(run, tmp_path_factory.mktemp("models") / "failure.mfgmodel")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path: Path, members: dict[str, bytes], fix_checksums: bool = False) -> Path:
    if fix_checksums:
        manifest = json.loads(members["manifest.json"])
        manifest["members"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items() if n != "manifest.json"}
        members = {**members, "manifest.json": json.dumps(manifest).encode()}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_round_trip_predicts_exactly_the_same(run, saved, frame):
    loaded = load_model_file(saved)
    assert isinstance(loaded, LoadedModel)
    x = run.fitted.transform(frame)
    before = run.predict_matrix(x)
    after = loaded.predict_outputs(frame)
    # the opened file scores with the NumPy forward pass (core.forward), the run with Keras (float32)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    for a, b in zip(run.model.get_weights(), loaded.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.run.to_dict() == json.loads(json.dumps(run.to_dict()))
    np.testing.assert_array_equal(loaded.run.split_test, run.split_test)
    assert loaded.fitted.feature_names == run.fitted.feature_names
    assert loaded.manifest["format"] == "mfg_desktop-model" and loaded.manifest["format_version"] == FORMAT_VERSION

    table = loaded.predict_frame(frame.iloc[:20])
    assert list(table.columns) == ["prediction", "p(0)", "p(1)"]
    # (same rows in the same batch: BLAS may round the last bit differently for other batch sizes)
    first = run.predict_matrix(run.fitted.transform(frame.iloc[:20]))
    np.testing.assert_allclose(table["p(1)"].to_numpy(), first[:, 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first, before[:20], rtol=1e-5)
    assert set(table["prediction"]) <= {0, 1}
    expected = np.where(first[:, 1] >= 0.5, 1, 0)
    np.testing.assert_array_equal(table["prediction"].to_numpy().astype(int), expected)


def test_the_file_holds_no_code_and_lists_every_member(saved):
    members = _members(saved)
    manifest = json.loads(members["manifest.json"])
    assert set(manifest["members"]) == set(members) - {"manifest.json"}
    assert "model.keras" not in members and not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in members)
    network = json.loads(members["network.json"])
    assert network["spec"] == SPEC.to_dict()
    schema = json.loads(members["input_schema.json"])
    assert {e["name"] for e in schema} >= {"Torque [Nm]", "Type"}
    with np.load(io.BytesIO(members["recipe.npz"]), allow_pickle=False) as npz:
        assert all(npz[k].dtype.kind == "f" for k in npz.files)


def test_a_truncated_file_is_refused(saved, tmp_path):
    data = saved.read_bytes()
    bad = tmp_path / "cut.mfgmodel"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model_file(bad)


def test_an_altered_member_is_refused(saved, tmp_path):
    members = _members(saved)
    metrics = json.loads(members["metrics.json"])
    metrics["val_roc_auc"] = 0.999
    members["metrics.json"] = json.dumps(metrics).encode()
    with pytest.raises(ModelFileError, match="altered.*metrics.json"):
        load_model_file(_write(tmp_path / "edited.mfgmodel", members))


def test_a_flipped_byte_is_refused(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    data[len(data) // 3] ^= 0xFF
    bad = tmp_path / "flipped.mfgmodel"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="altered|damaged|truncated"):
        load_model_file(bad)


def test_an_added_member_is_refused(saved, tmp_path):
    members = _members(saved)
    members["extra.py"] = b"print('hello')"
    with pytest.raises(ModelFileError, match="altered.*extra.py"):
        load_model_file(_write(tmp_path / "extra.mfgmodel", members))


def test_foreign_files_are_refused(saved, tmp_path, ai4i_path):
    with pytest.raises(ModelFileError, match="not an mfg_desktop model file"):
        load_model_file(ai4i_path)
    no_manifest = _members(saved)
    del no_manifest["manifest.json"]
    with pytest.raises(ModelFileError, match="no manifest"):
        load_model_file(_write(tmp_path / "plain.zip", no_manifest))
    other = _members(saved)
    manifest = json.loads(other["manifest.json"])
    manifest["format"] = "someone-elses-model"
    other["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(ModelFileError, match="another format"):
        load_model_file(_write(tmp_path / "other.mfgmodel", other))
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model_file(tmp_path / "nothing.mfgmodel")


def test_a_newer_format_version_is_refused(saved, tmp_path):
    members = _members(saved)
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = FORMAT_VERSION + 1
    members["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(ModelFileError, match="Update"):
        load_model_file(_write(tmp_path / "future.mfgmodel", members))


class _Payload:
    """Unpickling this would create the marker file: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_payload_is_never_run(saved, tmp_path):
    marker = tmp_path / "payload-ran"
    members = _members(saved)
    # An attacker can recompute checksums (they are not a signature), so the payload passes them.
    buf = io.BytesIO()
    np.savez(buf, num0_fill=np.array([_Payload(marker)], dtype=object))
    members["recipe.npz"] = buf.getvalue()
    with pytest.raises(ModelFileError, match="not plain numbers"):
        load_model_file(_write(tmp_path / "npz.mfgmodel", members, fix_checksums=True))
    members = _members(saved)
    members["recipe.json"] = pickle.dumps(_Payload(marker))
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model_file(_write(tmp_path / "json.mfgmodel", members, fix_checksums=True))
    assert not marker.exists()


def test_saving_is_atomic(run, saved, tmp_path, monkeypatch):
    target = tmp_path / "keep.mfgmodel"
    target.write_bytes(saved.read_bytes())
    original = target.read_bytes()
    real_writestr = zipfile.ZipFile.writestr
    calls = {"n": 0}

    def failing_writestr(self, name, data, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(28, "No space left on device")
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    with pytest.raises(ModelFileError, match="No space left"):
        save_model_file(run, target)
    monkeypatch.undo()
    assert target.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["keep.mfgmodel"]  # no half-written temp file left behind
    load_model_file(target)

    with pytest.raises(ModelFileError, match="folder"):
        save_model_file(run, tmp_path / "missing" / "m.mfgmodel")
    assert save_model_file(run, tmp_path / "noext").name == "noext" + bundle.SUFFIX
