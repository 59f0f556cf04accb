"""core.backend: what native code writes to fd 2 while TensorFlow loads is kept, not shown (unless verbose)."""

from __future__ import annotations

import os

import pytest

from mfg_desktop.core import backend


@pytest.fixture
def quiet():
    yield
    backend.set_verbose(False)


def test_native_writes_to_stderr_are_captured_and_kept(capfd, quiet):
    with backend.native_stderr_captured():
        os.write(2, b"I0000 cudart_stub.cc:31] Could not find cuda drivers\n")  # as C++ writes it
    assert capfd.readouterr().err == ""
    assert "Could not find cuda drivers" in backend.captured_output()


def test_verbose_shows_what_was_captured(capfd, quiet):
    backend.set_verbose(True)
    with backend.native_stderr_captured():
        os.write(2, b"E0000 cuda_platform.cc:52] failed call to cuInit\n")
    assert "failed call to cuInit" in capfd.readouterr().err


def test_stderr_works_again_afterwards(capfd, quiet):
    with backend.native_stderr_captured():
        pass
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_the_environment_is_set_before_tensorflow_loads(monkeypatch, quiet):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    backend.quiet_environment()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
