"""mfg_desktop/core is Qt-free and loads TensorFlow lazily: checked statically and at import time."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import mfg_desktop

PACKAGE_DIR = Path(mfg_desktop.__file__).resolve().parent
CORE_DIR = PACKAGE_DIR / "core"
QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2", "qtpy")
HEAVY_MODULES = ("tensorflow", "keras")


def _imports(tree: ast.AST) -> list[tuple[str, int, bool]]:
    """(module, line, at_module_level) for every import statement in a file."""
    found = []
    inside_function = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.walk(node)
        if child is not node
    }
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            found.append((name, node.lineno, id(node) not in inside_function))
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_core_has_files_to_check():
    names = {p.name for p in _python_files(CORE_DIR)}
    assert {"errors.py", "jobs.py", "profile.py"} <= names


def test_core_never_imports_qt_statically():
    offenders = []
    for path in _python_files(CORE_DIR):
        for name, line, _ in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if _top(name) in QT_MODULES or name.startswith("mfg_desktop.qt"):
                offenders.append(f"{path.relative_to(PACKAGE_DIR)}:{line} imports {name}")
    assert not offenders, "core must stay Qt-free:\n" + "\n".join(offenders)


def test_tensorflow_is_never_imported_at_module_level():
    offenders = []
    for path in _python_files(PACKAGE_DIR):
        for name, line, module_level in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if module_level and _top(name) in HEAVY_MODULES:
                offenders.append(f"{path.relative_to(PACKAGE_DIR)}:{line} imports {name}")
    assert not offenders, "import tensorflow/keras inside functions only:\n" + "\n".join(offenders)


def test_the_checker_sees_what_it_must(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text(
        "import os\nfrom PySide6.QtCore import Qt\n"
        "def f():\n    import tensorflow as tf\n    from keras import layers\n",
        encoding="utf-8",
    )
    found = _imports(ast.parse(sample.read_text()))
    assert ("PySide6.QtCore", 2, True) in found
    assert ("tensorflow", 4, False) in found and ("keras", 5, False) in found


def test_importing_every_core_module_loads_no_qt():
    modules = [
        "mfg_desktop.core"
        + ("." + ".".join(p.relative_to(CORE_DIR).with_suffix("").parts) if p.stem != "__init__" else "")
        for p in _python_files(CORE_DIR)
    ]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES + HEAVY_MODULES!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing core loaded {loaded}"
