"""The import graph of mfg_desktop, built from the source with ``ast``: no cycle, arrows one way.

The window's architecture (README "How the window is built"): ``cli`` → ``qt.app`` → ``qt.main_window``
→ step panels → ``qt.context`` / widgets → ``core``. A panel never imports the main window, nothing
imports the CLI, and no class in ``qt`` or ``report_pdf`` grows past 400 lines or module past 600.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mfg_desktop

PACKAGE_DIR = Path(mfg_desktop.__file__).resolve().parent
MAX_CLASS_LINES = 400
MAX_MODULE_LINES = 600
# the modules that build and drive a whole window; every other Qt module works without one
WINDOW_HOSTS = {"mfg_desktop.qt.main_window", "mfg_desktop.qt.app", "mfg_desktop.qt.selftest"}


def _module_name(path: Path, root: Path = PACKAGE_DIR) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Module → the package modules it imports anywhere (module level, functions, TYPE_CHECKING)."""
    package = root.name
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, module, path.name == "__init__.py")
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                # the deepest package module the name refers to (`from pkg import module` too)
                while name and name not in files:
                    name = name.rpartition(".")[0]
                if name.startswith(package) and name != module and name != package:
                    targets.add(name)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_anywhere():
    graph = import_graph()
    assert len(graph) > 40  # the walk found the package
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph))


def test_panels_never_import_the_main_window_and_nothing_imports_the_cli():
    graph = import_graph()
    offenders = []
    for module, targets in graph.items():
        if module not in WINDOW_HOSTS and "mfg_desktop.qt.main_window" in targets:
            offenders.append(f"{module} imports the main window")
        if "mfg_desktop.cli" in targets and module != "mfg_desktop.__main__":
            offenders.append(f"{module} imports the CLI")
        if module.startswith("mfg_desktop.core") and any(t.startswith(("mfg_desktop.qt", "mfg_desktop.report_pdf"))
                                                         for t in targets):
            offenders.append(f"{module} (core) imports the Qt layer")
        if module.startswith("mfg_desktop.report_pdf") and any(t.startswith("mfg_desktop.qt") for t in targets):
            offenders.append(f"{module} (the PDF renderer, used headless) imports the window's modules")
    assert offenders == []


def test_qt_classes_and_modules_stay_small():
    too_big = []
    for path in sorted([*(PACKAGE_DIR / "qt").rglob("*.py"), *(PACKAGE_DIR / "report_pdf").rglob("*.py")]):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            too_big.append(f"{path.name}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                too_big.append(f"{path.name}: class {node.name} {node.end_lineno - node.lineno + 1} lines")
    assert too_big == []


@pytest.fixture
def toy_package(tmp_path):
    pkg = tmp_path / "toy"
    (pkg / "qt").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "qt" / "__init__.py").write_text("")
    return pkg


def test_the_checker_finds_cycles_through_relative_and_function_level_imports(toy_package):
    (toy_package / "qt" / "window.py").write_text("from toy.qt import panel\n")
    (toy_package / "qt" / "panel.py").write_text("def f():\n    from .window import W\n")
    cycle = find_cycle(import_graph(toy_package))
    assert cycle is not None and set(cycle) == {"toy.qt.window", "toy.qt.panel"}
    (toy_package / "qt" / "panel.py").write_text("from toy import qt\n")  # the package itself is no edge
    assert find_cycle(import_graph(toy_package)) is None


STEPS = ("data", "prepare", "train", "evaluate", "predict", "report")


def test_every_step_is_a_package_with_a_qt_free_state():
    import json
    import subprocess
    import sys

    assert all((PACKAGE_DIR / "qt" / step / name).is_file() for step in STEPS for name in ("state.py", "panel.py"))
    code = ("import importlib, json, sys\n"
            f"for step in {list(STEPS)!r}:\n"
            "    importlib.import_module(f'mfg_desktop.qt.{step}.state')\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded == []
