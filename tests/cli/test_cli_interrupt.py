"""Ctrl+C stops `mfg-desktop predict --watch` quietly at any moment: no traceback, exit status 130.

The moments: during Python's own start-up imports, during the seconds TensorFlow takes to import
(opening the model file), and while the watcher polls. SIGINT is what the terminal sends on Ctrl+C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mfg_desktop.core.bundle import save_model_file
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process: POSIX")


@pytest.fixture(scope="module")
def model_path(ai4i_path, tmp_path_factory) -> Path:
    frame = pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:400]
    recipe = propose_recipe(frame, "Machine_failure", exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    run = train_run(frame, recipe, SplitSpec(), NetworkSpec(hidden=[8], epochs=1, n_bins=4, embedding_dim=2), seed=1)
    return save_model_file(run, tmp_path_factory.mktemp("model") / "tiny.mfgmodel")


def _watch(model_path: Path, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    line, out = tmp_path / "line", tmp_path / "out"
    line.mkdir(exist_ok=True)
    err = tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(err, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "mfg_desktop", "predict", str(model_path), str(line),
                                 "--out", str(out), "--watch", "--poll", "0.2"],
                                stdout=subprocess.DEVNULL, stderr=fh, env=env, cwd=tmp_path)
    return proc, err


def _interrupt(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _assert_quiet(rc: int, err: Path, moment: str) -> str:
    text = err.read_text(encoding="utf-8", errors="replace")
    assert rc == 130, f"{moment}: exit status {rc}\n{text[-3000:]}"
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, f"{moment}:\n{text[-3000:]}"
    return text


@pytest.mark.parametrize("delay_s", [0.3, 1.5, 4.0])
def test_ctrl_c_during_start_up_stops_quietly(model_path, tmp_path, delay_s):
    proc, err = _watch(model_path, tmp_path)
    time.sleep(delay_s)
    was_watching = "watching" in err.read_text(encoding="utf-8", errors="replace")
    rc = _interrupt(proc)
    text = _assert_quiet(rc, err, f"SIGINT after {delay_s} s")
    if not was_watching:  # still starting (the usual case on a loaded machine): the start-up's own words
        assert "interrupted" in text or "stopping" in text


def test_ctrl_c_while_watching_stops_quietly_and_twice_is_no_worse(model_path, tmp_path):
    proc, err = _watch(model_path, tmp_path)
    deadline = time.monotonic() + 120
    while "watching" not in err.read_text(encoding="utf-8", errors="replace") and time.monotonic() < deadline:
        assert proc.poll() is None, err.read_text(encoding="utf-8", errors="replace")
        time.sleep(0.1)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)  # a second Ctrl+C a moment later, as impatient users do
    time.sleep(0.05)
    rc = _interrupt(proc)
    assert time.monotonic() - started < 5
    text = _assert_quiet(rc, err, "SIGINT while watching")
    assert text.count("stopping...") == 1


LOST_INTERRUPT = """
import signal, sys, weakref
from mfg_desktop import cli

class Thing:
    pass

def lose_a_ctrl_c():
    # CPython drops an exception raised in a weakref callback ("Exception ignored in ..."): the way a
    # Ctrl+C during the start-up imports can vanish (an import lock's callback)
    thing = Thing()
    ref = weakref.ref(thing, lambda _ref: signal.raise_signal(signal.SIGINT) or sum(range(10)))
    del thing

original = cli._keep_http_clients_out
def patched():
    original()
    lose_a_ctrl_c()
cli._keep_http_clients_out = patched
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_ctrl_c_that_start_up_lost_still_stops_the_watch(model_path, tmp_path):
    """Not a race: the interrupt is lost on purpose the way CPython loses one, and the watch must
    not start (it used to watch on until killed: the flaky 0.3 s case above on a loaded machine)."""
    line = tmp_path / "line"
    line.mkdir()
    proc = subprocess.run([sys.executable, "-c", LOST_INTERRUPT, "predict", str(model_path), str(line),
                           "--out", str(tmp_path / "out"), "--watch", "--poll", "0.2"],
                          check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)},
                          cwd=tmp_path)
    assert "Exception ignored" in proc.stderr  # the interrupt was indeed lost by Python
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert "stopping" in proc.stderr and "watching" not in proc.stderr
