"""``kill -9`` at any moment loses nothing: the final names hold nothing, the old complete file or
the new complete one, and the temporaries a killed writer leaves are removed by the next write.

Most moments are tried on the app's own write functions in a child process that writes without
pause, alternating two versions of each file: the model file (:func:`bundle.write_members` with a
real model's members), the scored CSV and Excel exports (:func:`score.export_scored`), the scoring
summary (:func:`score.write_score_summary`) and the PDF report's bytes (``report_render.write_atomic``
is :func:`atomic.atomic_write` around the write; the child skips importing Qt for it).
It is killed with SIGKILL at evenly spaced moments over one round of writes. One end-to-end run
kills ``mfg-desktop predict`` while it streams a scored file, then runs it again to completion.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mfg_desktop.core.atomic import is_temporary
from mfg_desktop.core.bundle import _read_members, save_model_file
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.score import score_file
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL: POSIX")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PDF = ROOT / "resources" / "sample_report.pdf"
MOMENTS = 10
LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]

WRITER = r"""
import json, sys, time, zipfile
from pathlib import Path

from mfg_desktop.core.bundle import write_members
from mfg_desktop.core.score import FileScore, export_scored, write_score_summary
from mfg_desktop.core.atomic import write_bytes_atomic as write_pdf  # what report_render.write_atomic calls

folder, model_src, pdf_src, once = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "once"
sources = [Path(p) for p in sys.argv[5:7]]
with zipfile.ZipFile(model_src) as zf:
    members = {n: zf.read(n) for n in zf.namelist()}
manifest = json.loads(members.pop("manifest.json"))
pdf = Path(pdf_src).read_bytes()
versions = []
for k, source in enumerate(sources):
    rows = sum(1 for _ in open(source, encoding="utf-8-sig")) - 1
    score = FileScore(path=Path(sys.argv[7]), task="binary", status="scored", output=source, rows_read=rows,
                      rows_scored=rows, classes=[0, 1], positive_class=1, threshold=0.5)
    # A 4 MB report (a comment after the PDF's end), so that writing it takes a while too.
    padding = b"\n%" + b"x" * (4 << 20)
    versions.append(({**manifest, "created": f"version {k}"}, score, pdf + padding + f"\n% version {k}\n".encode()))
round_no = 0
while True:
    started = time.perf_counter()
    man, score, pdf_bytes = versions[round_no % 2]
    write_members(folder / "model.mfgmodel", man, members)
    export_scored(score, folder, "csv")
    export_scored(score, folder, "xlsx")
    write_score_summary(score, folder, f"version {round_no % 2}")
    write_pdf(folder / "report.pdf", pdf_bytes)
    round_no += 1
    if round_no == 1:
        print(f"READY {time.perf_counter() - started:.4f}", flush=True)
    if once:
        break
"""


@pytest.fixture(scope="module")
def sources(ai4i_path, tmp_path_factory) -> dict[str, Path]:
    """A real model file, two versions of a scored CSV, the input it came from, and a big input."""
    folder = tmp_path_factory.mktemp("sources")
    frame = pd.read_csv(ai4i_path, encoding="utf-8-sig")
    train = frame.iloc[:600]
    recipe = propose_recipe(train, "Machine_failure", exclude=LEAKS)
    run = train_run(train, recipe, SplitSpec(), NetworkSpec(hidden=[64], epochs=1, n_bins=4, embedding_dim=2), seed=1)
    model = save_model_file(run, folder / "tiny.mfgmodel")
    batch = folder / "batch.csv"
    frame.iloc[:1500].to_csv(batch, index=False)
    scored_a = score_file(run, batch, folder / "a").output
    frame.iloc[:1000].to_csv(batch, index=False)
    scored_b = score_file(run, batch, folder / "b").output
    big = folder / "big" / "line_export.csv"
    big.parent.mkdir()
    pd.concat([frame] * 12, ignore_index=True).to_csv(big, index=False)
    return {"model": model, "a": scored_a, "b": scored_b, "batch": batch, "big": big}


def _writer(folder: Path, sources: dict[str, Path], once: bool = False) -> subprocess.Popen:
    # Its own system temp folder: a library's scratch file left there by a kill would show.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(_system_temp(folder))}
    return subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(sources["model"]), str(SAMPLE_PDF),
                             "once" if once else "loop", str(sources["a"]), str(sources["b"]), str(sources["batch"])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _system_temp(folder: Path) -> Path:
    path = folder.parent / "system-temp"
    path.mkdir(exist_ok=True)
    return path


def _ready(proc: subprocess.Popen) -> float:
    line = proc.stdout.readline()
    assert line.startswith("READY"), proc.stderr.read()[-3000:] if proc.poll() is not None else line
    return float(line.split()[1])


def _temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if is_temporary(p))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed into place meanwhile
        return 0


def _half_written(folder: Path, sources: dict[str, Path]) -> list[str]:
    """The final names that hold neither nothing nor one complete version."""
    from pypdf import PdfReader

    bad = []
    expected_pages = len(PdfReader(SAMPLE_PDF).pages)
    versions = {sources["a"].read_bytes(), sources["b"].read_bytes()}
    rows = {len(pd.read_csv(sources[k], encoding="utf-8-sig")) for k in ("a", "b")}
    for path in folder.iterdir():
        if is_temporary(path):
            continue
        try:
            if path.suffix == ".mfgmodel":
                manifest, _ = _read_members(path)  # every member against its checksum
                ok = manifest["created"] in ("version 0", "version 1")
            elif path.suffix == ".csv":
                ok = path.read_bytes() in versions
            elif path.suffix == ".xlsx":
                ok = len(pd.read_excel(path)) in rows
            elif path.name.endswith(".summary.json"):
                ok = json.loads(path.read_text(encoding="utf-8"))["model_id"] in ("version 0", "version 1")
            elif path.suffix == ".pdf":
                tail = path.read_bytes().rstrip()
                ok = len(PdfReader(path).pages) == expected_pages and tail.endswith((b"version 0", b"version 1"))
            else:
                ok = False
        except Exception:  # noqa: BLE001 - any failure to read it back is a half-written file
            ok = False
        if not ok:
            bad.append(path.name)
    return bad


def test_kill_9_at_any_moment_of_the_writes_leaves_complete_files_and_no_stale_temporaries(sources, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    probe = _writer(folder, sources)
    round_s = _ready(probe)  # a first child measures one round of writes
    probe.kill()
    probe.wait()
    tried, half_written, left_by_kill, stale_after_restart = [], [], 0, 0
    killed_pid = probe.pid
    for i in range(MOMENTS):
        child = _writer(folder, sources)
        _ready(child)  # it has written every file once: stale temporaries of the killed one are gone
        stale_after_restart += sum(1 for p in _temporaries(folder) if f".{killed_pid}-" in p.name)
        delay = round_s * (i + 0.5) / MOMENTS
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        killed_pid = child.pid
        tried.append(delay)
        half_written += _half_written(folder, sources)
        left_by_kill += len(_temporaries(folder))
    restart = _writer(folder, sources, once=True)  # the next start, writing once and ending normally
    _ready(restart)
    assert restart.wait(timeout=60) == 0, restart.stderr.read()
    stale_after_restart += len(_temporaries(folder))
    half_written += _half_written(folder, sources)
    print(f"\nkill -9 of the writers: {len(tried)} moments over a {round_s:.2f} s round "
          f"({', '.join(f'{d:.3f}' for d in tried)} s), half-written files {len(half_written)}, "
          f"temporaries left by the kills {left_by_kill}, stale temporaries after the next start {stale_after_restart}")
    assert half_written == []
    assert stale_after_restart == 0
    assert left_by_kill >= 1  # some kills did land in the middle of a write
    # openpyxl streams a sheet through a scratch file: in the output folder as one of ours, not here
    assert list(_system_temp(folder).iterdir()) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["model.mfgmodel", "batch_scored.csv", "batch_scored.xlsx", "batch_scored.summary.json", "report.pdf"])


def test_files_get_the_users_normal_permissions(sources, tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    restart = _writer(folder, sources, once=True)
    _ready(restart)
    assert restart.wait(timeout=60) == 0
    mask = os.umask(0o022)
    os.umask(mask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}
    assert set(modes.values()) == {0o666 & ~mask}, modes  # 0644 under the usual umask, not mkstemp's 0600


def test_kill_9_of_mfg_desktop_predict_while_it_writes_then_a_rerun(sources, tmp_path):
    out = tmp_path / "scored"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "mfg_desktop", "predict", str(sources["model"]), str(sources["big"]),
               "--out", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            # the scored CSV is being streamed: its first rows are written (of 120,000, in two chunks)
            if out.is_dir() and any(_size(p) > 0 for p in _temporaries(out)):
                break
            time.sleep(0.002)
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        # at once: a fixed wait here let an idle machine finish the stream first
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    final = out / "line_export_scored.csv"
    assert not final.exists()  # nothing, rather than a half-written scored file
    left = _temporaries(out)
    assert len(left) == 1 and f".{proc.pid}-" in left[0].name

    rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180, check=False)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert len(pd.read_csv(final, encoding="utf-8-sig")) == 120_000
    assert _temporaries(out) == []  # the killed run's temporary was removed by the next write there
    print(f"\nkill -9 of mfg-desktop predict mid-stream: final name empty, 1 temporary left, "
          f"0 after the rerun ({len(left)} removed)")
