"""The wheel carries the resources, and the installed package finds them outside the checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_installed_wheel_finds_its_resources(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
    )
    (wheel,) = wheels.glob("mfg_desktop-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True
    )
    code = (
        "import mfg_desktop.resources as r, sys; "
        "assert r.__file__.startswith(sys.argv[1]), r.__file__; "
        "p = r.sample_data_path(); assert p.is_file(); print(p)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(target)], cwd=tmp_path, env={"PYTHONPATH": str(target)},
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip().startswith(str(target))
