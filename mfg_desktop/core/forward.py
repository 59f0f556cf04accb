"""Scoring a saved network without TensorFlow: the forward pass of the app's own layers in NumPy.

Importing TensorFlow costs 10-20 s on a 2-core PC, far more than scoring a file (`predict` of 500
rows spent ~13 s of 13.5 s importing). A model file holds the network as data (the
:class:`NetworkSpec`, see ``network.build_model``) and its weights as HDF5 arrays, so inference
needs neither Keras nor TensorFlow: :class:`SavedNetwork` reads the arrays with h5py, checks every
shape against the spec, and computes the same layers with NumPy in float32 like Keras (the two
agree to about 1e-6, which ``tests/core/test_forward.py`` checks).

The sequence network (``architecture="sequence"``) is computed the same way: causal 1-D
convolutions as ``kernel_size`` shifted matrix products, then Keras' GRU (reset gate after the
recurrent product, gates in Keras' order z, r, h) step by step over the window, a step whose
presence channel is 0 leaving the state as it was (Keras' masking).

Anything else asked of the model (its Keras layers for the report's architecture table, its
weights to save it again, gradients) builds the Keras model on first use and delegates to it.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from mfg_desktop.core.i18n import tr
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION

BATCH_NORM_EPSILON = 1e-3  # keras.layers.BatchNormalization's default, which build_model keeps
# Rows per NumPy pass: float32 activations of 1,024 rows x 256 units are 1 MiB, so scoring stays
# within a small, fixed working set (a 16k-row chunk at once took ~45 MB); matrix products of
# this height already run at full BLAS speed.
ROWS_PER_BLOCK = 1024
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


class WeightsMismatch(ValueError):
    """The weights file does not hold the arrays the network spec describes."""


@dataclass(frozen=True)
class _Expected:
    layer: str
    shapes: tuple[tuple[int, ...], ...]


def _expected_layers(spec: NetworkSpec, n_features: int, task: str, n_outputs: int) -> list[_Expected]:
    """Every weighted layer ``build_model`` makes for ``spec``, with the shapes of its arrays in order."""
    layers: list[_Expected] = []
    width = n_features
    if spec.architecture == "sequence":
        width = n_features + 1  # the presence channel
        for i in range(int(spec.conv_layers)):
            layers.append(_Expected(f"conv_{i}", ((spec.kernel_size, width, spec.conv_filters), (spec.conv_filters,))))
            width = spec.conv_filters
        g = int(spec.gru_units)
        layers.append(_Expected("gru_cell", ((width, 3 * g), (g, 3 * g), (2, 3 * g))))
        width = g
    elif spec.numeric_encoding == "ple":
        t, d = spec.n_bins, spec.embedding_dim
        layers.append(_Expected("ple", ((n_features, t), (n_features, t))))
        layers.append(_Expected("feature_embedding", ((n_features, t, d), (n_features, d))))
        width = n_features + n_features * d
    for i, units in enumerate(spec.hidden):
        shapes = ((width, units),) if spec.batch_norm else ((width, units), (units,))
        layers.append(_Expected(f"dense_{i}", shapes))
        if spec.batch_norm:
            layers.append(_Expected(f"batch_norm_{i}", ((units,),) * 4))
        width = units
    if task == REGRESSION:
        layers.append(_Expected("output_scaled", ((width, 1), (1,))))
        layers.append(_Expected("output", ((1,), (1,))))
    else:
        layers.append(_Expected("output", ((width, n_outputs), (n_outputs,))))
    return layers


def read_weights(data: bytes, spec: NetworkSpec, n_features: int, task: str, n_outputs: int
                 ) -> dict[str, list[np.ndarray]]:
    """The arrays of each weighted layer from Keras' ``.weights.h5`` bytes, checked against ``spec``.

    Only the datasets the spec calls for are read, each after its shape is checked, so a crafted
    file cannot make this read more than the network's own size.
    """
    import h5py

    expected = _expected_layers(spec, n_features, task, n_outputs)
    try:
        with h5py.File(io.BytesIO(data), "r") as h5:
            groups = h5.get("layers")
            if not isinstance(groups, h5py.Group):
                raise WeightsMismatch(tr("the weights file has no layers"))
            by_name: dict[str, Any] = {}
            for key in groups:
                layer_group = groups[key] if isinstance(groups[key], h5py.Group) else None
                # a recurrent layer keeps its weights in its cell ("gru" -> "gru_cell")
                cell = layer_group.get("cell") if layer_group is not None else None
                for holder in (layer_group, cell if isinstance(cell, h5py.Group) else None):
                    vars_group = holder.get("vars") if holder is not None else None
                    if isinstance(vars_group, h5py.Group):
                        by_name[str(vars_group.attrs.get("name", key))] = vars_group
            out: dict[str, list[np.ndarray]] = {}
            for layer in expected:
                group = by_name.get(layer.layer)
                if group is None:
                    raise WeightsMismatch(tr("the weights of layer {layer} are missing", layer=repr(layer.layer)))
                arrays = []
                for i, shape in enumerate(layer.shapes):
                    ds = group.get(str(i))
                    if not isinstance(ds, h5py.Dataset) or tuple(ds.shape) != shape or ds.dtype.kind != "f":
                        found = getattr(ds, "shape", None)
                        raise WeightsMismatch(tr("layer {layer} array {index} has shape {found}, the network needs "
                                                 "{shape}", layer=repr(layer.layer), index=i, found=found, shape=shape))
                    arrays.append(np.asarray(ds[()], dtype=np.float32))
                if str(len(layer.shapes)) in group:
                    raise WeightsMismatch(tr("layer {layer} has more arrays than the network uses",
                                             layer=repr(layer.layer)))
                out[layer.layer] = arrays
    except (OSError, KeyError, TypeError) as exc:
        raise WeightsMismatch(tr("the weights are unreadable ({reason})", reason=exc)) from exc
    for name, arrays in out.items():
        if not all(np.isfinite(a).all() for a in arrays):
            raise WeightsMismatch(tr("layer {layer} holds weights that are not finite numbers", layer=repr(name)))
    return out


def _activation(name: str, x: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(x, 0.0, out=x)
    if name == "tanh":
        return np.tanh(x)
    if name == "silu":
        return x / (1.0 + np.exp(-x))
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    if name == "gelu":  # Keras' default: the exact form with erf
        from scipy.special import erf

        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    raise WeightsMismatch(tr("activation {name} has no NumPy form", name=repr(name)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the logistic function, without overflow


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter: Any = None


def _release_blas_control() -> None:
    """Let any thread set OpenBLAS' limit next (threadpoolctl >= 3.7 gives it to one thread at a time)."""
    import threadpoolctl

    clear = getattr(getattr(threadpoolctl, "OpenBLASController", None), "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


@contextmanager
def _single_blas_thread() -> Iterator[None]:
    """NumPy's BLAS on one thread while any network in this process is scoring.

    These matrix products are small (a block of rows by a few hundred units). On a 2-core PC
    that is busy with anything else, OpenBLAS' threads spend more time waiting for each other
    than computing: a 4,096 x 128 by 128 x 1 product took 6 ms with 2 threads and 60 us with
    one, and the whole pass ran 4-8x faster on one thread; on an idle PC two threads are ~30 %
    faster, and one thread is still ~1.8x Keras. The limit is process-wide, so threads that score
    at the same time (the permutation importance does) share it: the first sets it, the last
    restores it, whichever threads those are.
    """
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            _release_blas_control()
            _blas_limiter = _blas_controller().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _release_blas_control()
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
                _release_blas_control()


class SavedNetwork:
    """A network read from a model file: NumPy inference, Keras built only when something else is asked."""

    def __init__(self, spec: NetworkSpec, n_features: int, task: str, n_classes: int, seed: int,
                 weights_h5: bytes) -> None:
        if task not in (BINARY, MULTICLASS, REGRESSION):
            raise WeightsMismatch(tr("unknown task {task}", task=repr(task)))
        self.spec, self.n_features, self.task, self.seed = spec, int(n_features), task, int(seed)
        self.n_outputs = 1 if task in (BINARY, REGRESSION) else int(n_classes)
        self._n_classes = int(n_classes)
        self._weights_h5 = weights_h5
        self.weights = read_weights(weights_h5, spec, self.n_features, task, self.n_outputs)
        self._keras: Any = None

    @property
    def output_shape(self) -> tuple[None, int]:
        return (None, self.n_outputs)

    def count_params(self) -> int:
        return int(sum(a.size for arrays in self.weights.values() for a in arrays))

    def predict_numpy(self, x: np.ndarray) -> np.ndarray:
        """Raw outputs (n, width) for a prepared float matrix: what the Keras model returns.

        Computed in float32 like Keras (twice the BLAS speed of float64; the two agree to ~1e-6),
        in blocks of ``ROWS_PER_BLOCK`` rows on one BLAS thread (see ``_single_blas_thread``).
        """
        x = np.asarray(x, dtype=np.float32)
        if self.spec.architecture == "sequence":
            expected = (int(self.spec.sequence_length), self.n_features + 1)
            if x.ndim != 3 or x.shape[1:] != expected:
                raise ValueError(f"expected windows of shape (rows, {expected[0]}, {expected[1]}), got {x.shape}")
        elif x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} input columns, got shape {x.shape}")
        out = np.empty((len(x), self.n_outputs), dtype=np.float32)
        with _single_blas_thread():
            for start in range(0, len(x), ROWS_PER_BLOCK):
                out[start:start + ROWS_PER_BLOCK] = self._forward(x[start:start + ROWS_PER_BLOCK])
        return out

    def _forward(self, x: np.ndarray) -> np.ndarray:
        w = self.weights
        spec = self.spec
        h = x / np.sqrt(1.0 + np.square(x / 3.0)) if spec.smooth_clip else x
        first = 0
        if spec.architecture == "sequence":
            h = self._sequence_features(h, x[:, :, -1] > 0.5)
        elif spec.numeric_encoding == "ple":
            n_rows, n_features = h.shape
            lower, inv_width = w["ple"]
            kernel, bias = w["feature_embedding"]
            # Features lead so that each feature's bins are one contiguous (rows, bins) matrix:
            # (features, rows, bins) @ (features, bins, dim) is one batched BLAS call, written
            # straight into (rows, features, dim) order, which is the layout the next layer reads.
            enc = np.subtract(h.T[:, :, None], lower[:, None, :])
            enc *= inv_width[:, None, :]
            np.clip(enc, 0.0, 1.0, out=enc)
            emb = np.empty((n_rows, n_features, kernel.shape[2]), dtype=np.float32)
            np.matmul(enc, kernel, out=emb.transpose(1, 0, 2))
            emb += bias
            np.maximum(emb, 0.0, out=emb)
            # the first dense layer reads [h, emb]: two products instead of concatenating them
            # (a spec always has a hidden layer, NetworkSpec checks it)
            kernel_0 = w["dense_0"][0]
            z = h @ kernel_0[:n_features]
            z += emb.reshape(n_rows, -1) @ kernel_0[n_features:]
            h, first = self._finish_dense(z, 0), 1
        for i in range(first, len(spec.hidden)):
            h = self._finish_dense(h @ w[f"dense_{i}"][0], i)
        if self.task == REGRESSION:
            kernel, bias = w["output_scaled"]
            z = h @ kernel
            z += bias
            mean, std = w["output"]
            return z * std + mean
        kernel, bias = w["output"]
        z = h @ kernel
        z += bias
        if self.task == BINARY:
            return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, without overflow
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def _sequence_features(self, h: np.ndarray, present: np.ndarray) -> np.ndarray:
        """The convolutions and the GRU's last state for windows ``h`` (rows, W, channels)."""
        n, steps, _ = h.shape
        for i in range(int(self.spec.conv_layers)):
            kernel, bias = self.weights[f"conv_{i}"]
            k = kernel.shape[0]
            padded = np.concatenate([np.zeros((n, k - 1, h.shape[2]), dtype=np.float32), h], axis=1)
            z = np.zeros((n, steps, kernel.shape[2]), dtype=np.float32)
            for j in range(k):  # causal: output step t reads input steps t-k+1 .. t
                z += padded[:, j:j + steps, :] @ kernel[j]
            z += bias
            h = _activation(self.spec.activation, z)
        kernel, recurrent, bias = self.weights["gru_cell"]
        g = recurrent.shape[0]
        from_inputs = h @ kernel + bias[0]  # (rows, W, 3g), all steps at once
        state = np.zeros((n, g), dtype=np.float32)
        for t in range(steps):
            xz, xr, xh = np.split(from_inputs[:, t, :], 3, axis=1)
            rz, rr, rh = np.split(state @ recurrent + bias[1], 3, axis=1)
            update = _sigmoid(xz + rz)
            reset = _sigmoid(xr + rr)
            candidate = np.tanh(xh + reset * rh)
            new = update * state + (1.0 - update) * candidate
            state = np.where(present[:, t:t + 1], new, state)  # padding: the state passes unchanged
        return state

    def _finish_dense(self, z: np.ndarray, i: int) -> np.ndarray:
        """Bias, batch norm and activation of hidden layer ``i`` on its matrix product ``z`` (in place)."""
        arrays = self.weights[f"dense_{i}"]
        if len(arrays) > 1:
            z += arrays[1]
        if self.spec.batch_norm:
            gamma, beta, mean, var = self.weights[f"batch_norm_{i}"]
            z -= mean
            z *= gamma / np.sqrt(var + BATCH_NORM_EPSILON)
            z += beta
        return _activation(self.spec.activation, z)  # dropout: the identity at inference

    def keras_model(self) -> Any:
        """The same network as a Keras model (imports TensorFlow the first time)."""
        if self._keras is None:
            import os
            import tempfile
            from pathlib import Path

            from mfg_desktop.core.network import build_model

            model = build_model(self.spec, self.n_features, self.task,
                                max(self._n_classes, 2) if self.task != REGRESSION else 1, seed=self.seed,
                                compile=False)
            with tempfile.TemporaryDirectory(prefix="mfg_load_") as tmp:
                path = os.path.join(tmp, "model.weights.h5")
                Path(path).write_bytes(self._weights_h5)
                model.load_weights(path)
            self._keras = model
        return self._keras

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy/pickle probes and half-initialised objects: no Keras for them
            raise AttributeError(name)
        return getattr(self.keras_model(), name)
