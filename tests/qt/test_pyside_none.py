"""The installed PySide6 must not leak references to None away.

PySide6 6.12.0 on Python 3.11 (where None is not immortal) decrements None's reference count on
every call of a Qt method that returns nothing; a long session (repaints, plot updates) then
aborts with "Fatal Python error: none_dealloc". pyproject.toml keeps that release out.
"""

import os
import subprocess
import sys

CHILD = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
before = sys.getrefcount(None)
for _ in range(20000):
    label.update()
print(before - sys.getrefcount(None))
"""


def test_qt_calls_returning_nothing_keep_none_alive():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, env=env,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert abs(int(result.stdout.strip())) < 100, "None lost references on Qt calls: " + result.stdout
