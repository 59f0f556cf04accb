"""Plain formatters of the Evaluate step's numbers and names (no Qt, nothing to translate)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def number_text(value: float | None, digits: int = 4) -> str:
    """A metric with ``digits`` decimals; a dash when it is missing or not finite."""
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def short(text: str, limit: int = 28) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def value_text(value: Any) -> str:
    """A cell value as a reader wants it: floats with four significant digits."""
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def file_names(paths: Sequence[str | Path], shown: int = 3) -> str:
    """The first ``shown`` file names, comma-separated, with "…" when there are more."""
    names = ", ".join(Path(p).name for p in paths[:shown])
    return names + (" …" if len(paths) > shown else "")
