"""The one door to Keras/TensorFlow: imported quietly, the device described in the app's words.

TensorFlow's C++ side writes 5-8 lines to the process's stderr while it loads and when CUDA is
first probed ("All log messages before absl::InitializeLog() is called...", oneDNN, "Could not
find cuda drivers", CPU feature lines, "failed call to cuInit"). Several of them are written
before absl's logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` alone does not silence them.
:func:`import_keras` therefore sets the environment first and points the native stderr file
descriptor (fd 2) at a temporary file around the import and the first device query; what was
caught is kept (:func:`captured_output`, the log) and written out only in verbose mode
(:func:`set_verbose`, the CLI's ``--verbose``).

Every user of Keras in the app calls :func:`import_keras` instead of ``import keras``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from mfg_desktop.core.i18n import trn

log = logging.getLogger(__name__)

_lock = threading.RLock()
_captured: list[str] = []
_verbose = False


def set_verbose(verbose: bool) -> None:
    """Verbose: the libraries' own output is shown on stderr (as captured) and not filtered."""
    global _verbose
    _verbose = bool(verbose)


def is_verbose() -> bool:
    return _verbose


def captured_output() -> str:
    """What TensorFlow/absl wrote to stderr while loading and probing devices, in this process."""
    return "".join(_captured)


def quiet_environment() -> None:
    """Environment for a quiet TensorFlow; must be set before it is imported to take effect."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if _verbose else "3"
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "0" if _verbose else "3")


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[None]:
    """Send whatever anything in the process writes to fd 2 into a temporary file, then keep it.

    Python's ``sys.stderr`` is flushed before and after, so no Python text crosses the switch. In
    verbose mode the caught text is written to the real stderr once the switch is undone.
    """
    with _lock:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all (a windowed app on Windows): nothing to protect
            yield
            return
        with tempfile.TemporaryFile(prefix="mfg_stderr_") as sink:
            _flush_python_stderr()
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                _flush_python_stderr()
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode("utf-8", errors="replace")
        if text:
            _captured.append(text)
            log.debug("library output while loading:\n%s", text.rstrip())
            if _verbose:
                sys.stderr.write(text)
                sys.stderr.flush()


def _flush_python_stderr() -> None:
    with contextlib.suppress(Exception):
        sys.stderr.flush()


def import_keras() -> Any:
    """The ``keras`` module, imported (the first time) quietly, with the device probed once."""
    keras = sys.modules.get("keras")
    if keras is not None and _probed_device.cache_info().currsize:
        return keras
    with _lock:
        quiet_environment()
        with native_stderr_captured():
            import keras

            if not _verbose:
                for name in ("tensorflow", "absl", "jax"):
                    logging.getLogger(name).setLevel(logging.ERROR)
                with contextlib.suppress(Exception):
                    import absl.logging

                    absl.logging.set_verbosity(absl.logging.ERROR)
            _probed_device()  # where TensorFlow calls cuInit and logs about CUDA
    return keras


@lru_cache(maxsize=1)
def _probed_device() -> str | None:
    return gpu_name()


def gpu_name() -> str | None:
    """The first GPU of the active Keras backend, or None (asked of that backend only)."""
    import keras

    backend = keras.config.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return str(details.get("device_name") or gpus[0].name)
        elif backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform in ("gpu", "cuda", "rocm")]
            if gpus:
                return str(getattr(gpus[0], "device_kind", gpus[0]))
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return str(torch.cuda.get_device_name(0))
    except Exception:  # noqa: BLE001 - a broken driver means: train on the CPU
        return None
    return None


def describe_device() -> str:
    """``"GPU: <name>"`` when the Keras backend sees a GPU, else ``"CPU (N cores)"``."""
    import_keras()
    name = _probed_device()
    cores = os.cpu_count() or 1
    # "GPU" leads in every language: training looks at it to switch on mixed precision
    return f"GPU: {name}" if name else trn("CPU ({n} core)", "CPU ({n} cores)", cores)
