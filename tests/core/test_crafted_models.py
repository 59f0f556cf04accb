"""Crafted model files: each refused with a clear message, nothing run, nothing written, quickly,
in bounded memory.

Every file is crafted from a real model file (one tiny model trained once for this module), so
each one passes every check except the one it attacks; checksums are recomputed where an attacker
would recompute them (they are not a signature). The refusals are measured in a child process: it
imports the bundle reader (not TensorFlow: a refusal must come before the network is built), then
opens each file in a fork of itself whose address space is capped at what it already uses plus
:data:`MEMORY_BUDGET` (``RLIMIT_AS``), and reports the outcome, the seconds and the peak memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.errors import ModelFileError
from mfg_desktop.core.network import NetworkSpec, planned_parameters
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and RLIMIT_AS: Linux")

ROOT = Path(__file__).resolve().parents[2]
MEMORY_BUDGET = 512 << 20  # address space a refusal may add to what the reader already uses
TIME_LIMIT_S = 5.0
SPEC = NetworkSpec(hidden=[8], epochs=1, batch_size=128, n_bins=4, embedding_dim=2)

HARNESS = r"""
import json, os, resource, signal, sys, time

from mfg_desktop.core.bundle import load_model_file
from mfg_desktop.core.errors import MfgError

budget, limit_s = int(sys.argv[1]), float(sys.argv[2])


def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024


results = {}
for path in sys.argv[3:]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") + budget, resource.RLIM_INFINITY))
        rss_before = status("VmRSS")
        started = time.perf_counter()
        try:
            load_model_file(path)
            out = {"outcome": "loaded", "message": ""}
        except MfgError as exc:
            out = {"outcome": "refused", "message": str(exc), "type": type(exc).__name__}
        except MemoryError:
            out = {"outcome": "out of memory", "message": ""}
        except BaseException as exc:
            out = {"outcome": "crashed", "message": f"{type(exc).__name__}: {exc}"[:2000]}
        out["seconds"] = time.perf_counter() - started
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before) / 2**20
        os.write(write_end, json.dumps(out).encode())
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + 3 * limit_s
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.01)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    results[path] = json.loads(data) if data else {"outcome": "hung or killed", "message": ""}
print(json.dumps(results))
"""


# ------------------------------------------------------------------------------ crafting


@pytest.fixture(scope="module")
def model_file(ai4i_path, tmp_path_factory) -> Path:
    frame = pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:400].reset_index(drop=True)
    recipe = propose_recipe(frame, "Machine_failure", exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    run = train_run(frame, recipe, SplitSpec(), SPEC, seed=3)
    return save_model_file(run, tmp_path_factory.mktemp("real") / "tiny.mfgmodel")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path: Path, members: dict[str, bytes], entries: list[tuple[zipfile.ZipInfo, bytes]] = (),
           fix_checksums: bool = True) -> Path:
    """A zip of ``members`` (and raw ``entries``), with the manifest's checksums recomputed."""
    members = dict(members)
    if fix_checksums:
        manifest = json.loads(members["manifest.json"])
        listed = {n: d for n, d in members.items() if n != "manifest.json"}
        listed.update({info.filename: data for info, data in entries})
        manifest["members"] = {n: hashlib.sha256(d).hexdigest() for n, d in listed.items()}
        members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for info, data in entries:
            zf.writestr(info, data)
    return path


def _with_network(model_file: Path, path: Path, **spec_changes) -> Path:
    members = _members(model_file)
    net = json.loads(members["network.json"])
    net["spec"].update(spec_changes)
    members["network.json"] = json.dumps(net).encode()
    return _write(path, members)


def _patch_declared_size(path: Path, name: str, size: int) -> None:
    """Make ``name`` declare ``size`` uncompressed bytes, in its local header and the central directory."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(name).header_offset
    struct.pack_into("<I", data, local + 22, size)
    end = data.rfind(b"PK\x05\x06")
    pos = struct.unpack_from("<I", data, end + 16)[0]
    while data[pos:pos + 4] == b"PK\x01\x02":
        n_name, n_extra, n_comment = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46:pos + 46 + n_name].decode() == name:
            struct.pack_into("<I", data, pos + 24, size)
        pos += 46 + n_name + n_extra + n_comment
    path.write_bytes(bytes(data))


class _Payload:
    """Unpickling this creates the marker file: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _pickle_npz(marker: Path) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, num0_fill=np.array([_Payload(marker)], dtype=object))
    return buf.getvalue()


def _zip_bomb(model_file: Path, path: Path, inflated: int) -> Path:
    """split.npz replaced by ``inflated`` bytes of zeros (deflated to a few hundred kB), honestly declared."""
    members = _members(model_file)
    del members["split.npz"]
    _write(path, members, fix_checksums=False)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("split.npz", "w", force_zip64=True) as fh:
        block = bytes(1 << 20)
        for _ in range(inflated >> 20):
            fh.write(block)
    return path


CASES = {
    # name: (builder(model_file, folder) -> path, what the message must say)
    "pickle in recipe.npz": (lambda m, d: _write(d / "a.mfgmodel", {**_members(m), "recipe.npz": _pickle_npz(d / "RAN")}),
                             "not plain numbers"),
    "pickle as the weights": (lambda m, d: _write(d / "b.mfgmodel", {**_members(m), "model.weights.h5":
                                                                    pickle.dumps(_Payload(d / "RAN"))}),
                              "weights are not HDF5"),
    "pickle as recipe.json": (lambda m, d: _write(d / "c.mfgmodel", {**_members(m), "recipe.json":
                                                                    pickle.dumps(_Payload(d / "RAN"))}),
                              "not valid JSON"),
    "pickle as an extra listed member": (lambda m, d: _write(d / "d.mfgmodel", {**_members(m), "model.pkl":
                                                                               pickle.dumps(_Payload(d / "RAN"))}),
                                         r"altered \(unexpected member\(s\) model.pkl\)"),
    "path traversal": (lambda m, d: _write(d / "e.mfgmodel", _members(m), [(zipfile.ZipInfo("../escaped.txt"), b"x")]),
                       r"unsafe name \('../escaped.txt'"),
    "absolute path": (lambda m, d: _write(d / "f.mfgmodel", _members(m),
                                          [(zipfile.ZipInfo(str(d / "abs" / "escaped.txt")), b"x")]),
                      "unsafe name"),
    "windows path": (lambda m, d: _write(d / "g.mfgmodel", _members(m), [(zipfile.ZipInfo("..\\..\\escaped.txt"), b"x")]),
                     "unsafe name"),
    "symlink member": (lambda m, d: _write(d / "h.mfgmodel", {k: v for k, v in _members(m).items()
                                                             if k != "network.json"},
                                           [(_symlink_info("network.json"), b"/etc/passwd")]),
                       "network.json is a symbolic link"),
    "member declared 3 GiB": (lambda m, d: _declared(m, d / "i.mfgmodel", "recipe.npz", 3 << 30),
                              r"recipe.npz declares 3,221,225,472 bytes"),
    "zip bomb declared": (lambda m, d: _zip_bomb(m, d / "j.mfgmodel", 600 << 20), "split.npz declares 629,145,600 bytes"),
    "zip bomb declared small": (lambda m, d: _lying_bomb(m, d / "k.mfgmodel"), "altered|damaged"),
    "20,000 members": (lambda m, d: _write(d / "l.mfgmodel", _members(m),
                                           [(zipfile.ZipInfo(f"m{i}.json"), b"{}") for i in range(20_000)],
                                           fix_checksums=False),
                       r"holds 20,0\d\d members"),
    "member twice": (lambda m, d: _write(d / "m.mfgmodel", _members(m), [(zipfile.ZipInfo("metrics.json"), b"{}")],
                                         fix_checksums=False),
                     "holds the member metrics.json twice"),
    "wrong checksum": (lambda m, d: _write(d / "n.mfgmodel", {**_members(m), "metrics.json": b'{"val_loss": 0.0}'},
                                           fix_checksums=False),
                       r"metrics.json does not match its checksum"),
    "deeply nested network.json": (lambda m, d: _write(d / "o.mfgmodel", {**_members(m), "network.json":
                                                                          b"[" * 200_000 + b"]" * 200_000}),
                                   "network.json is nested too deeply"),
    "deeply nested manifest": (lambda m, d: _write(d / "p.mfgmodel", {**_members(m), "manifest.json":
                                                                     b'{"a":' * 100_000 + b"1" + b"}" * 100_000},
                                                   fix_checksums=False),
                               "manifest.json is nested too deeply"),
    "a billion units": (lambda m, d: _with_network(m, d / "q.mfgmodel", hidden=[1_000_000_000]),
                        "implausibly large: a layer of 1,000,000,000 units"),
    "2 x 25,000 units": (lambda m, d: _with_network(m, d / "r.mfgmodel", hidden=[25_000, 25_000]),
                         "implausibly large: a layer of 25,000 units"),
    "20,000 layers": (lambda m, d: _with_network(m, d / "s.mfgmodel", hidden=[64] * 20_000),
                      "implausibly large: 20,000 hidden layers"),
    "200 M parameters": (lambda m, d: _with_network(m, d / "t.mfgmodel", hidden=[14_000] * 2, n_bins=1000,
                                                    embedding_dim=1000),
                         r"parameters \(at most 50,000,000\)"),
    "truncated": (lambda m, d: _truncated(m, d / "u.mfgmodel"), "truncated or damaged"),
    "an image": (lambda m, d: _bytes(d / "v.mfgmodel", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40),
                 "not an mfg_desktop model file"),
    "empty file": (lambda m, d: _bytes(d / "w.mfgmodel", b""), "not an mfg_desktop model file"),
}


def _symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: the mode lives in the high bits of external_attr
    info.external_attr = 0o120777 << 16
    return info


def _declared(model_file: Path, path: Path, name: str, size: int) -> Path:
    _write(path, _members(model_file), fix_checksums=False)
    _patch_declared_size(path, name, size)
    return path


def _lying_bomb(model_file: Path, path: Path) -> Path:
    """600 MiB of zeros that declares the size of the real split.npz (and whose checksum the
    manifest lists for the full content): inflating it to the end would take 600 MiB."""
    members = _members(model_file)
    manifest = json.loads(members["manifest.json"])
    full = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(600):
        full.update(block)
    manifest["members"]["split.npz"] = full.hexdigest()
    kept = {n: d for n, d in members.items() if n != "split.npz"}
    _write(path, {**kept, "manifest.json": json.dumps(manifest).encode()}, fix_checksums=False)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("split.npz", "w", force_zip64=False) as fh:
        for _ in range(600):
            fh.write(block)
    _patch_declared_size(path, "split.npz", len(members["split.npz"]))
    return path


def _truncated(model_file: Path, path: Path) -> Path:
    data = model_file.read_bytes()
    return _bytes(path, data[: len(data) * 2 // 3])


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def crafted(model_file, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("crafted")
    return {name: build(model_file, folder) for name, (build, _) in CASES.items()}


@pytest.fixture(scope="module")
def refusals(crafted, tmp_path_factory) -> dict[str, dict]:
    """Open every crafted file in a memory-capped fork of a reader process; print the measurements."""
    work = tmp_path_factory.mktemp("reader-cwd")  # its working folder: must stay empty
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", HARNESS, str(MEMORY_BUDGET), str(TIME_LIMIT_S),
                           *map(str, crafted.values())], check=False, cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    by_path = json.loads(done.stdout.strip().splitlines()[-1])
    results = {name: by_path[str(path)] for name, path in crafted.items()}
    assert not any(work.iterdir()), f"the reader wrote into its working folder: {list(work.iterdir())}"
    print(f"\ncrafted model files: {len(results)} (budget {MEMORY_BUDGET >> 20} MiB over the reader's "
          f"address space, {TIME_LIMIT_S:.0f} s)")
    for name, r in results.items():
        print(f"  {name:34s} {r['outcome']:9s} {r.get('seconds', float('nan')):6.3f} s  "
              f"peak {r.get('peak_rss_mb', float('nan')):6.0f} MB (+{r.get('growth_mb', float('nan')):5.1f})  "
              f"{r['message'][:110]}")
    return results


def _assert_refused(refusals: dict[str, dict], name: str) -> str:
    result = refusals[name]
    assert result["outcome"] == "refused", result
    assert result["type"] == "ModelFileError"
    assert result["seconds"] <= TIME_LIMIT_S
    import re

    assert re.search(CASES[name][1], result["message"]), result["message"]
    return result["message"]


# ------------------------------------------------------------------------------ one test per case


def test_a_pickled_recipe_array_is_refused_and_never_run(refusals, crafted):
    _assert_refused(refusals, "pickle in recipe.npz")
    assert not (crafted["pickle in recipe.npz"].parent / "RAN").exists()


def test_a_pickle_in_place_of_the_weights_is_refused_before_keras(refusals, crafted):
    _assert_refused(refusals, "pickle as the weights")
    assert not (crafted["pickle as the weights"].parent / "RAN").exists()


def test_a_pickle_in_place_of_json_is_refused(refusals):
    _assert_refused(refusals, "pickle as recipe.json")


def test_a_pickle_listed_as_an_extra_member_is_refused(refusals):
    _assert_refused(refusals, "pickle as an extra listed member")


def test_a_member_named_with_dot_dot_is_refused_and_nothing_escapes(refusals, crafted):
    _assert_refused(refusals, "path traversal")
    folder = crafted["path traversal"].parent
    assert not (folder.parent / "escaped.txt").exists() and not (folder / "escaped.txt").exists()


def test_a_member_with_an_absolute_name_is_refused_and_nothing_is_written_there(refusals, crafted):
    _assert_refused(refusals, "absolute path")
    assert not (crafted["absolute path"].parent / "abs").exists()


def test_a_member_with_a_windows_path_is_refused(refusals):
    _assert_refused(refusals, "windows path")


def test_a_symlink_member_is_refused(refusals):
    _assert_refused(refusals, "symlink member")


def test_a_member_declaring_gigabytes_is_refused_without_reading_it(refusals):
    _assert_refused(refusals, "member declared 3 GiB")
    assert refusals["member declared 3 GiB"]["growth_mb"] < 64


def test_an_honest_zip_bomb_is_refused_from_its_declared_size(refusals, crafted):
    assert crafted["zip bomb declared"].stat().st_size < 5 << 20  # 600 MiB inside
    _assert_refused(refusals, "zip bomb declared")
    assert refusals["zip bomb declared"]["growth_mb"] < 64


def test_a_zip_bomb_declaring_a_small_size_is_read_no_further_than_declared(refusals):
    # The reader stops at the declared size; the bytes then fail the manifest's checksum.
    _assert_refused(refusals, "zip bomb declared small")
    assert refusals["zip bomb declared small"]["growth_mb"] < 64


def test_an_archive_of_20000_members_is_refused(refusals):
    _assert_refused(refusals, "20,000 members")


def test_a_member_stored_twice_is_refused(refusals):
    _assert_refused(refusals, "member twice")


def test_a_wrong_checksum_is_refused(refusals):
    _assert_refused(refusals, "wrong checksum")


def test_deeply_nested_json_is_refused_not_a_recursion_error(refusals):
    _assert_refused(refusals, "deeply nested network.json")


def test_a_deeply_nested_manifest_is_refused(refusals):
    _assert_refused(refusals, "deeply nested manifest")


def test_a_spec_asking_for_a_billion_units_is_refused_before_anything_is_built(refusals):
    _assert_refused(refusals, "a billion units")
    assert refusals["a billion units"]["growth_mb"] < 64  # TensorFlow was never imported


def test_a_spec_of_two_layers_of_25000_units_is_refused(refusals):
    _assert_refused(refusals, "2 x 25,000 units")


def test_a_spec_of_20000_layers_is_refused(refusals):
    _assert_refused(refusals, "20,000 layers")


def test_a_spec_within_the_layer_limits_but_of_200m_parameters_is_refused(refusals):
    _assert_refused(refusals, "200 M parameters")


def test_a_truncated_file_is_refused(refusals):
    _assert_refused(refusals, "truncated")


def test_an_image_renamed_to_a_model_file_is_refused(refusals):
    _assert_refused(refusals, "an image")


def test_an_empty_file_is_refused(refusals):
    _assert_refused(refusals, "empty file")


def test_every_refusal_is_quick_and_within_the_memory_budget(refusals):
    assert set(refusals) == set(CASES)
    assert all(r["outcome"] == "refused" for r in refusals.values())
    assert max(r["seconds"] for r in refusals.values()) <= TIME_LIMIT_S
    assert max(r["growth_mb"] for r in refusals.values()) < MEMORY_BUDGET >> 20


# ------------------------------------------------------------------------------ needing Keras


def test_weights_of_the_wrong_shape_are_refused(model_file, tmp_path):
    # One more unit in the hidden layer: the spec is sane, the stored weights no longer fit it.
    bad = _with_network(model_file, tmp_path / "shape.mfgmodel", hidden=[9])
    with pytest.raises(ModelFileError, match="weights do not fit its network"):
        load_model_file(bad)


def test_weights_with_a_layer_missing_are_refused_not_left_random(model_file, tmp_path):
    import h5py

    members = _members(model_file)
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as h5:
        del h5["layers/dense"]  # Keras only warns about this one and keeps the layer's random start
    members["model.weights.h5"] = buf.getvalue()
    with pytest.raises(ModelFileError, match="weights do not fit its network"):
        load_model_file(_write(tmp_path / "missing-layer.mfgmodel", members))


def test_weights_far_larger_than_the_network_are_refused(model_file, tmp_path):
    members = _members(model_file)
    members["model.weights.h5"] += bytes(8 << 20)  # a valid HDF5 head, 8 MiB of padding behind it
    with pytest.raises(ModelFileError, match="far larger than its network"):
        load_model_file(_write(tmp_path / "padded.mfgmodel", members))


def test_the_real_file_opens_and_its_planned_parameter_count_is_what_keras_builds(model_file):
    loaded = load_model_file(model_file)  # the crafted files above all attack a file that opens
    net = loaded.info["network"]
    assert planned_parameters(loaded.run.network, net["n_features"], net["task"], 2) == loaded.model.count_params()

