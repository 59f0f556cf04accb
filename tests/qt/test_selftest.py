"""``mfg-desktop --self-test``: the whole run in a fresh process, its failures, and its checks.

The self-test runs as the packaged app would: ``python -m mfg_desktop --self-test`` in a subprocess
with a temporary HOME/XDG/TMPDIR, so no user settings are read or written. Failures are provoked
by a bootstrap script that monkeypatches one step and then calls the real command line.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mfg_desktop.qt import selftest
from mfg_desktop.resources import sample_data_path

ROOT = Path(__file__).resolve().parents[2]

SUMMARY = re.compile(
    r"self-test passed: window shown (?P<shown>\d+\.\d\d) s after launch \(TensorFlow not loaded yet\), "
    r"loaded (?P<rows>[\d,]+) rows, trained 2 epochs \(val loss (?P<val_loss>\d+\.\d+)\) on (?P<device>(CPU|GPU)[^,]*), "
    r"evaluated on (?P<evaluated>[\d,]+) held-out rows \(PR-AUC (?P<pr_auc>[\d.]+), ROC-AUC (?P<roc_auc>[\d.]+)\), "
    r"scored (?P<scored>[\d,]+) rows, report (?P<pages>\d+) pages, crash report checked; (?P<total>\d+\.\d) s total"
)

# Each mode breaks one step the way a broken installation or a bug would, then runs the real CLI.
BOOTSTRAP = textwrap.dedent("""
    import sys
    import time

    mode = sys.argv[1]
    if mode == "missing-sample":
        from pathlib import Path
        import mfg_desktop.resources as resources
        resources.sample_data_path = lambda: Path("/nonexistent/sample/line_sensors.csv")
    elif mode == "train-error":
        import mfg_desktop.core.train as train
        from mfg_desktop.core.errors import TrainingError

        def broken(*args, **kwargs):
            raise TrainingError("simulated: the network could not be built", hint="Reinstall the application.")

        train.train_run = broken
    elif mode == "hang":
        import mfg_desktop.qt.main_window as main_window
        import mfg_desktop.qt.selftest as selftest

        def never_ends(paths, options, state):
            time.sleep(600)

        main_window._load_job = never_ends
        selftest.TIMEOUT_S = 8.0
    from mfg_desktop.cli import main
    sys.exit(main(["--self-test"]))
""")


def _env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: the checkout's package, offscreen Qt, every user folder temporary."""
    env = {k: v for k, v in os.environ.items() if k != "MFG_DESKTOP_CONFIG_DIR"}
    home = tmp_path / "home"
    tmp = tmp_path / "tmp"
    for folder in (home, tmp):
        folder.mkdir()
    env.update({
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TMPDIR": str(tmp),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    })
    return env


def _run(args: list[str], tmp_path: Path, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], check=False, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                          timeout=timeout)


def _sample_rows() -> int:
    with open(sample_data_path(), encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1


def test_self_test_passes_and_prints_one_summary_line(tmp_path):
    result = _run(["-m", "mfg_desktop", "--self-test"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    # quiet: no TensorFlow/absl start-up lines, no Qt plugin warnings (those go to the log)
    assert result.stderr == "", result.stderr
    match = SUMMARY.fullmatch(lines[0])
    assert match, lines[0]
    rows = _sample_rows()
    def number(key: str) -> int:
        return int(match[key].replace(",", ""))

    assert number("rows") == rows and number("scored") == rows
    assert 0 < number("evaluated") < rows  # held-out test rows only
    assert 0.0 < float(match["shown"]) < float(match["total"])
    assert math.isfinite(float(match["val_loss"]))
    assert 0.0 <= float(match["pr_auc"]) <= 1.0 and 0.5 < float(match["roc_auc"]) <= 1.0  # it learned something
    assert int(match["pages"]) >= 3
    # nothing of a user's touched, and the temporary folder with model, scores and PDF removed
    assert not list((tmp_path / "home").rglob("*"))  # no settings, no ~/.keras/keras.json
    assert not list((tmp_path / "tmp").glob("mfg-desktop-self-test-*"))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("missing-sample", ("self-test failed at load: The bundled sample data is missing "
                            "(/nonexistent/sample/line_sensors.csv); reinstall the application.")),
        ("train-error", "self-test failed at train: simulated: the network could not be built"),
        ("hang", "self-test failed at load: timed out after 8 s"),
    ],
)
def test_a_broken_step_fails_with_its_reason(tmp_path, mode, expected):
    script = tmp_path / "bootstrap.py"
    script.write_text(BOOTSTRAP, encoding="utf-8")
    result = _run([str(script), mode], tmp_path, timeout=120)
    assert result.returncode == 1, (result.stdout, result.stderr[-3000:])
    assert "self-test passed" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(expected), result.stderr[-3000:]
    assert not list((tmp_path / "tmp").glob("mfg-desktop-self-test-*"))  # cleaned up on failure too


def test_self_test_takes_no_files(tmp_path):
    result = _run(["-m", "mfg_desktop", "--self-test", "data.csv"], tmp_path, timeout=60)
    assert result.returncode == 2
    assert "--self-test takes no files" in result.stderr


def test_process_age_counts_from_the_process_start(tmp_path):
    code = "import time; time.sleep(0.6); from mfg_desktop.qt.selftest import process_age_s; print(process_age_s())"
    result = _run(["-c", code], tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert 0.55 <= float(result.stdout) < 10.0


# the checks, fed wrong results


def test_check_history_needs_two_finite_epochs():
    assert selftest.check_history({"loss": [0.7, 0.5], "val_loss": [0.6, 0.45]}) == 0.45
    with pytest.raises(selftest.SelfTestFailure, match="expected 2 epochs"):
        selftest.check_history({"loss": [0.7], "val_loss": [0.6]})
    with pytest.raises(selftest.SelfTestFailure, match="not finite"):
        selftest.check_history({"loss": [0.7, float("nan")], "val_loss": [0.6, 0.5]})


def test_check_scores_wants_every_row_with_a_probability():
    selftest.check_scores(3, 3, np.array([0.0, 0.5, 1.0]), 3, "scored")
    with pytest.raises(selftest.SelfTestFailure, match="2 of 3 rows scored"):
        selftest.check_scores(3, 2, np.array([0.1, 0.2]), 3, "scored")
    with pytest.raises(selftest.SelfTestFailure, match="outside"):
        selftest.check_scores(3, 3, np.array([0.1, np.nan, 0.2]), 3, "scored")
    with pytest.raises(selftest.SelfTestFailure, match="outside"):
        selftest.check_scores(2, 2, np.array([0.1, 1.5]), 2, "scored")
    with pytest.raises(selftest.SelfTestFailure, match="rejected: columns missing"):
        selftest.check_scores(0, 0, np.array([]), 3, "rejected", "columns missing")
    with pytest.raises(selftest.SelfTestFailure, match="loaded with 0 rows"):
        selftest.check_loaded(0)


def test_pdf_pages_counts_pages_and_refuses_other_files(tmp_path):
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Pages /Kids [2 0 R 3 0 R] >>\n"
                    b"2 0 obj\n<< /Type /Page >>\n3 0 obj\n<</Type/Page/Parent 1 0 R>>\n%%EOF\n")
    assert selftest.pdf_pages(pdf) == 2
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"%PDF-1.4\n<< /Type /Pages /Kids [] >>\n")
    with pytest.raises(selftest.SelfTestFailure, match="no pages"):
        selftest.pdf_pages(empty)
    text = tmp_path / "b.pdf"
    text.write_text("not a pdf")
    with pytest.raises(selftest.SelfTestFailure, match="is not a PDF"):
        selftest.pdf_pages(text)
    with pytest.raises(selftest.SelfTestFailure, match="cannot be read"):
        selftest.pdf_pages(tmp_path / "missing.pdf")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "offscreen"),  # a server or CI: no display
        ({"DISPLAY": ":0"}, None),
        ({"WAYLAND_DISPLAY": "wayland-0"}, None),
        ({"QT_QPA_PLATFORM": "xcb"}, "xcb"),  # the user's choice stays
    ],
)
def test_offscreen_only_without_a_display(monkeypatch, env, expected):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", "linux")
    selftest._use_offscreen_without_display()
    assert os.environ.get("QT_QPA_PLATFORM") == expected
