"""Without the cluster extra nothing about Ray is imported, and a cluster command names the extra."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import mfg_desktop.core

ROOT = Path(__file__).resolve().parents[2]

# Ray made unimportable, as on a PC without the extra; then every core module and the CLI are
# imported and a cluster command and a --cluster option are run.
SCRIPT = r"""
import importlib, importlib.abc, importlib.machinery, importlib.util, io, json, sys, contextlib

class NoRay(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoRay())
_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "ray" or name.startswith("ray.") else _find_spec(name, *a)
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
from mfg_desktop import cli
results = {}
for argv in (["cluster", "check", "10.0.0.5:6379"],
             ["train", sys.argv[2], "--target", "Machine_failure", "--cluster", "10.0.0.5:6379", "--out", sys.argv[3]]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = cli.main(argv)
    results[argv[0]] = [rc, err.getvalue()]
results["ray_loaded"] = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
print(json.dumps(results))
"""


def test_no_ray_is_imported_and_cluster_commands_name_the_extra(ai4i_path, tmp_path):
    import pandas as pd

    small = tmp_path / "small.csv"
    pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:300].to_csv(small, index=False)
    modules = ["mfg_desktop.cli", "mfg_desktop.cli_cluster"] + [
        f"mfg_desktop.core.{m.name}" for m in pkgutil.iter_modules(mfg_desktop.core.__path__)]
    assert "mfg_desktop.core.cluster" in modules and "mfg_desktop.core.search" in modules
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(modules), str(small), str(tmp_path / "m.mfgmodel")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["ray_loaded"] == []
    for command in ("cluster", "train"):
        rc, err = results[command]
        assert rc == 2, err
        assert "install the cluster extra: pip install 'mfg-desktop[cluster]'" in err
        assert "Traceback" not in err
    assert not (tmp_path / "m.mfgmodel").exists()
