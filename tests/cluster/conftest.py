"""A real local Ray head on 127.0.0.1 with token authentication, for the whole cluster test session.

Skipped (with the reason) only where Ray, the ``cluster`` extra, is not installed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

NO_RAY = "Ray is not installed (the cluster extra: pip install 'mfg-desktop[cluster]')"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Head:
    def __init__(self, address: str, token_file: Path, client_port: int) -> None:
        self.address = address
        self.token_file = token_file
        self.client_address = f"ray://127.0.0.1:{client_port}"
        self.token = token_file.read_text().strip()


@pytest.fixture(scope="session")
def ray_head():
    pytest.importorskip("ray", reason=NO_RAY)
    # a short folder: Ray's unix sockets live under it and their paths are limited to ~107 bytes
    root = Path(tempfile.mkdtemp(prefix="mfgray", dir="/tmp"))
    token_file = root / "token"
    token_file.write_text(secrets.token_hex(32))
    token_file.chmod(0o600)
    port, client_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_file), RAY_USAGE_STATS_ENABLED="0")
    start = ["ray", "start", "--head", "--num-cpus", "2", "--node-ip-address", "127.0.0.1", "--port", str(port),
             "--ray-client-server-port", str(client_port), "--temp-dir", str(root / "ray"),
             "--include-dashboard", "false", "--disable-usage-stats"]
    done = subprocess.run(start, check=False, env=env, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        pytest.fail(f"ray start failed: {done.stderr[-2000:]}")
    try:
        yield Head(f"127.0.0.1:{port}", token_file, client_port)
    finally:
        subprocess.run(["ray", "stop", "--force"], check=False, env=env, capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_ambient_token(monkeypatch, tmp_path):
    """Each test names its token file; none is found in the environment or the home folder."""
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="session")
def small_frame(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:800].reset_index(drop=True)


@pytest.fixture(scope="session")
def small_csv(small_frame, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "line3.csv"
    small_frame.to_csv(path, index=False)
    return path
