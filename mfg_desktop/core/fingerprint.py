"""Fingerprints of the data a model saw: sha256 of each file and of the table itself.

Its own module so that training, evaluation, saved work and the cluster path share it without
importing one another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def frame_fingerprint(df: pd.DataFrame) -> str:
    """sha256 over the column names and every cell (same table read again -> same fingerprint)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, df.columns)).encode("utf-8"))
    h.update(np.asarray(pd.util.hash_pandas_object(df, index=False), dtype=np.uint64).tobytes())
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_fingerprint(df: pd.DataFrame, data_files: Sequence[str | Path] = ()) -> dict[str, Any]:
    files = []
    for p in data_files:
        path = Path(p)
        entry: dict[str, Any] = {"name": path.name}
        try:
            entry["sha256"] = file_sha256(path)
            entry["size"] = path.stat().st_size
        except OSError:
            entry["sha256"] = None
        files.append(entry)
    return {"frame_sha256": frame_fingerprint(df), "rows": len(df), "columns": int(df.shape[1]),
            "files": files}
