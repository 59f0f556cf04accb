"""The network: a plain, serialisable spec and a Keras 3 model built from it.

Only the Keras 3 API is used (``keras.ops``, ``keras.layers``), imported inside functions, so the
same code runs on TensorFlow, JAX or PyTorch. The architecture is fully described by a
:class:`NetworkSpec` plus the input/output sizes; the model file stores that spec as JSON and the
weights, and rebuilds the model with :func:`build_model` (nothing in a model file is code).

Default input handling follows what makes MLPs competitive with gradient boosting on tabular data
(Gorishniy et al. 2022, "On Embeddings for Numerical Features"; Holzmueller et al. 2024, RealMLP):

* every input is smoothly clipped, ``x / sqrt(1 + (x/3)^2)``, so a wild value in a new file cannot
  blow up the activations (the recipe has already scaled the columns);
* every input with more than two distinct training values is also given a piecewise-linear
  encoding over quantile bins of the training rows (the bin edges are non-trainable weights of
  the model, fitted by :func:`adapt_model` on the training rows only and saved with the weights),
  followed by a small per-feature linear embedding with ReLU. This lets the network draw the sharp
  thresholds that trees find easily ("fails when tool wear x torque > 11000").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np

from mfg_desktop.core.backend import import_keras
from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION

ACTIVATIONS = ("relu", "gelu", "silu", "selu", "tanh", "elu")
OPTIMIZERS = ("adamw", "adam", "sgd")
LOSSES = ("auto", "binary_crossentropy", "categorical_crossentropy", "mse", "mae", "huber")
ENCODINGS = ("ple", "none")
SCHEDULES = ("cosine", "constant")
MONITORS = ("auto", "val_loss", "val_pr_auc", "val_accuracy")


@dataclass
class NetworkSpec:
    """Everything that defines the network and how it is trained (JSON-able)."""

    hidden: list[int] = field(default_factory=lambda: [256, 256, 256])
    activation: str = "relu"
    dropout: float = 0.15
    batch_norm: bool = False
    optimizer: str = "adamw"
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    loss: str = "auto"
    epochs: int = 150
    batch_size: int = 256
    patience: int = 25
    # input handling (inside the model, so prediction needs nothing but the weights)
    numeric_encoding: str = "ple"
    n_bins: int = 24
    embedding_dim: int = 12
    smooth_clip: bool = True
    # learning-rate schedule over `epochs`: linear warm-up then cosine decay, or constant
    lr_schedule: str = "cosine"
    warmup_epochs: int = 2
    # what early stopping and "best weights" follow, on the validation rows. "auto" follows the
    # number the user judges the model by: PR-AUC for a binary target (what matters for rare
    # defects, and not distorted by class weights the way the unweighted loss is), accuracy for
    # multiclass, the loss for regression. Measured on steel plates (3 seeds): accuracy 0.772
    # following accuracy against 0.743 following the loss.
    monitor: str = "auto"

    def __post_init__(self) -> None:
        self.hidden = [int(u) for u in self.hidden]
        problems = []
        if not self.hidden or any(u < 1 for u in self.hidden):
            problems.append("hidden layers need at least one layer with one or more units")
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation '{self.activation}' is not one of {', '.join(ACTIVATIONS)}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer '{self.optimizer}' is not one of {', '.join(OPTIMIZERS)}")
        if not self.learning_rate > 0:
            problems.append("learning rate must be positive")
        if self.weight_decay < 0:
            problems.append("weight decay cannot be negative")
        if self.loss not in LOSSES:
            problems.append(f"loss '{self.loss}' is not one of {', '.join(LOSSES)}")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            problems.append("epochs, batch size and patience must be at least 1")
        if self.numeric_encoding not in ENCODINGS:
            problems.append(f"input encoding '{self.numeric_encoding}' is not one of {', '.join(ENCODINGS)}")
        if self.numeric_encoding == "ple" and (self.n_bins < 2 or self.embedding_dim < 1):
            problems.append("piecewise-linear encoding needs at least 2 bins and an embedding size >= 1")
        if self.monitor not in MONITORS:
            problems.append(f"monitor '{self.monitor}' is not one of {', '.join(MONITORS)}")
        if self.lr_schedule not in SCHEDULES:
            problems.append(f"learning-rate schedule '{self.lr_schedule}' is not one of {', '.join(SCHEDULES)}")
        if problems:
            raise TrainingError("Network settings: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkSpec:
        # Unknown keys (from a newer version) are ignored so older code still opens newer files.
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_changes(self, **changes: Any) -> NetworkSpec:
        return replace(self, **changes)


PRESETS: dict[str, NetworkSpec] = {
    "fast": NetworkSpec(hidden=[128, 128], dropout=0.1, epochs=40, patience=8, n_bins=16, embedding_dim=8),
    "balanced": NetworkSpec(),
    "thorough": NetworkSpec(
        hidden=[384, 384, 384], dropout=0.2, epochs=300, patience=40, batch_size=128, n_bins=32,
        embedding_dim=16, learning_rate=7e-4,
    ),
}
DEFAULT_PRESET = "balanced"


def preset(name: str) -> NetworkSpec:
    """A fresh copy of a named preset (callers may change it freely)."""
    if name not in PRESETS:
        raise TrainingError(f"Unknown preset '{name}'.", hint=f"Use one of: {', '.join(PRESETS)}.")
    return NetworkSpec.from_dict(PRESETS[name].to_dict())


def resolve_loss(spec: NetworkSpec, task: str) -> str:
    """The Keras loss name for this task ('auto' picks the one that fits)."""
    if task not in (BINARY, MULTICLASS, REGRESSION):
        raise TrainingError(f"Unknown task '{task}'.")
    loss = spec.loss
    if loss == "auto":
        return {BINARY: "binary_crossentropy", MULTICLASS: "sparse_categorical_crossentropy",
                REGRESSION: "mse"}[task]
    classification = {"binary_crossentropy", "categorical_crossentropy"}
    if (task == REGRESSION) == (loss in classification):
        raise TrainingError(f"The loss '{loss}' does not fit a {task} task.", hint="Use 'auto'.")
    if task == BINARY and loss != "binary_crossentropy":
        raise TrainingError("A binary task needs the binary cross-entropy loss.", hint="Use 'auto'.")
    if task == MULTICLASS:
        return "sparse_categorical_crossentropy"  # targets are class indices, not one-hot rows
    return "huber" if loss == "huber" else loss


def resolve_monitor(spec: NetworkSpec, task: str) -> tuple[str, str]:
    """The validation quantity early stopping follows, and whether lower ("min") or higher is better."""
    monitor = spec.monitor
    if monitor == "auto":
        monitor = {BINARY: "val_pr_auc", MULTICLASS: "val_accuracy"}.get(task, "val_loss")
    if monitor == "val_pr_auc" and task != BINARY:
        raise TrainingError("Early stopping on PR-AUC needs a binary target.", hint="Use 'auto'.")
    if monitor == "val_accuracy" and task == REGRESSION:
        raise TrainingError("Early stopping on accuracy needs a classification target.", hint="Use 'auto'.")
    return monitor, ("min" if monitor == "val_loss" else "max")


def metric_name(task: str) -> str:
    """The metric shown next to the loss: accuracy for classification, MAE for regression."""
    return "mae" if task == REGRESSION else "accuracy"


@lru_cache(maxsize=1)
def _layer_classes() -> dict[str, type]:
    """Custom layers, defined on first use so keras is only imported when a model is built."""
    keras = import_keras()
    ops = keras.ops

    class SmoothClip(keras.layers.Layer):
        """x / sqrt(1 + (x/3)^2): identity near 0, bounded by +-3 for outliers (RealMLP)."""

        def call(self, x):
            return x / ops.sqrt(1.0 + ops.square(x / 3.0))

    class PiecewiseLinearEncoding(keras.layers.Layer):
        """Quantile-bin piecewise-linear encoding of each input (Gorishniy et al. 2022).

        Bin ``t`` of feature ``j`` gives ``clip((x - lower[j, t]) * inv_width[j, t], 0, 1)``.
        Unused bins (binary inputs, few distinct values) have ``inv_width = 0`` and give 0.
        Edges are set by :func:`adapt_model`; they are weights, so they are saved and loaded.
        """

        def __init__(self, n_features: int, n_bins: int, **kwargs):
            super().__init__(**kwargs)
            self.n_features = n_features
            self.n_bins = n_bins

        def build(self, input_shape):
            shape = (self.n_features, self.n_bins)
            self.lower = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="lower")
            self.inv_width = self.add_weight(shape=shape, initializer="zeros", trainable=False,
                                             name="inv_width")

        def call(self, x):
            z = (ops.expand_dims(x, -1) - self.lower) * self.inv_width
            return ops.clip(z, 0.0, 1.0)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.n_features, self.n_bins)

    class FeatureEmbedding(keras.layers.Layer):
        """A separate small linear map per feature: (batch, F, T) -> (batch, F * d)."""

        def __init__(self, n_features: int, n_bins: int, dim: int, seed: int, **kwargs):
            super().__init__(**kwargs)
            self.n_features, self.n_bins, self.dim, self.seed = n_features, n_bins, dim, seed

        def build(self, input_shape):
            limit = 1.0 / np.sqrt(self.n_bins)
            self.kernel = self.add_weight(
                shape=(self.n_features, self.n_bins, self.dim), name="kernel",
                initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed))
            self.bias = self.add_weight(
                shape=(self.n_features, self.dim), name="bias",
                initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed + 1))

        def call(self, e):
            out = ops.einsum("bft,ftd->bfd", e, self.kernel) + self.bias
            return ops.reshape(out, (-1, self.n_features * self.dim))

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.n_features * self.dim)

    class Rescale(keras.layers.Layer):
        """Regression output back in the target's units: z * std + mean (set from training rows)."""

        def build(self, input_shape):
            self.mean = self.add_weight(shape=(1,), initializer="zeros", trainable=False, name="mean")
            self.std = self.add_weight(shape=(1,), initializer="ones", trainable=False, name="std")

        def call(self, z):
            return z * self.std + self.mean

    return {"SmoothClip": SmoothClip, "PiecewiseLinearEncoding": PiecewiseLinearEncoding,
            "FeatureEmbedding": FeatureEmbedding, "Rescale": Rescale}


def build_model(
    spec: NetworkSpec,
    n_features: int,
    task: str,
    n_classes: int,
    seed: int = 0,
    *,
    steps_per_epoch: int | None = None,
    mixed_precision: bool = False,
    compile: bool = True,
) -> Any:
    """Build and compile the Keras model described by ``spec``.

    ``steps_per_epoch`` sets the length of the learning-rate schedule (the number of batches per
    epoch); without it the schedule assumes 100 steps per epoch, which matters only for training.
    ``mixed_precision`` computes the hidden layers in float16 (GPU) while inputs, encodings and
    the output stay float32, with loss scaling. ``compile=False`` gives a model for prediction
    only (no optimizer state, which is also what the model file stores).
    """
    keras = import_keras()

    if n_features < 1:
        raise TrainingError("There are no input columns left to train on.",
                            hint="Tick at least one usable input on the Prepare step.")
    if task != REGRESSION and n_classes < 2:
        raise TrainingError("The target needs at least two classes to train a classifier.")
    loss = resolve_loss(spec, task)
    layers = _layer_classes()
    hidden_dtype = keras.DTypePolicy("mixed_float16") if mixed_precision else None
    act = spec.activation

    inputs = keras.Input(shape=(n_features,), name="inputs", dtype="float32")
    x = layers["SmoothClip"](name="smooth_clip")(inputs) if spec.smooth_clip else inputs
    parts = [x]
    if spec.numeric_encoding == "ple":
        enc = layers["PiecewiseLinearEncoding"](n_features, spec.n_bins, name="ple")(x)
        emb = layers["FeatureEmbedding"](n_features, spec.n_bins, spec.embedding_dim, seed + 11,
                                        name="feature_embedding")(enc)
        parts.append(keras.layers.Activation("relu", name="embedding_relu")(emb))
    h = keras.layers.Concatenate(name="features")(parts) if len(parts) > 1 else parts[0]
    for i, units in enumerate(spec.hidden):
        h = keras.layers.Dense(units, use_bias=not spec.batch_norm, name=f"dense_{i}",
                               kernel_initializer=keras.initializers.HeNormal(seed=seed + 100 + i),
                               dtype=hidden_dtype)(h)
        if spec.batch_norm:
            h = keras.layers.BatchNormalization(name=f"batch_norm_{i}", dtype=hidden_dtype)(h)
        h = keras.layers.Activation(act, name=f"act_{i}", dtype=hidden_dtype)(h)
        if spec.dropout > 0:
            h = keras.layers.Dropout(spec.dropout, seed=seed + 200 + i, name=f"dropout_{i}",
                                     dtype=hidden_dtype)(h)
    out_init = keras.initializers.GlorotUniform(seed=seed + 300)
    if task == BINARY:
        outputs = keras.layers.Dense(1, activation="sigmoid", name="output", dtype="float32",
                                     kernel_initializer=out_init)(h)
    elif task == MULTICLASS:
        outputs = keras.layers.Dense(n_classes, activation="softmax", name="output", dtype="float32",
                                     kernel_initializer=out_init)(h)
    else:
        z = keras.layers.Dense(1, name="output_scaled", dtype="float32", kernel_initializer=out_init)(h)
        outputs = layers["Rescale"](name="output", dtype="float32")(z)
    model = keras.Model(inputs, outputs, name="mfg_network")
    if not compile:
        return model
    optimizer = make_optimizer(spec, steps_per_epoch or 100)
    if mixed_precision:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric_name(task)],
                  steps_per_execution=steps_per_execution(model.count_params(), spec.batch_size))
    return model


# Keras may run several training steps per call into the backend (``steps_per_execution``): its
# Python loop, the callbacks and the GIL are then needed once per k steps instead of every step,
# which also leaves the GIL to the GUI thread for longer stretches. On ai4i2020 (28 steps of 256
# rows an epoch, 2 cores) k=4 made an epoch of a plain model.fit 18 % faster; k=8 gained no more.
# Per-batch callbacks (loss trace, cancel check) run once per k steps, so k is capped to keep one
# call under ~0.25 s even on a slow CPU (~10 GFLOP/s): cancel still stops within a second.
MAX_STEPS_PER_EXECUTION = 4
EXECUTION_FLOP_BUDGET = 2.5e9


def steps_per_execution(n_params: int, batch_size: int) -> int:
    """How many training steps Keras runs per call for a network of ``n_params`` weights."""
    keras = import_keras()

    if keras.config.backend() == "torch":
        return 1  # Keras' PyTorch trainer runs one step per call only
    flops_per_step = 6.0 * max(int(batch_size), 1) * max(int(n_params), 1)  # forward + backward
    return int(max(1, min(MAX_STEPS_PER_EXECUTION, EXECUTION_FLOP_BUDGET // flops_per_step)))


def make_optimizer(spec: NetworkSpec, steps_per_epoch: int) -> Any:
    """The optimizer with its learning-rate schedule (warm-up, then cosine decay to 5 %)."""
    keras = import_keras()

    lr: Any = spec.learning_rate
    if spec.lr_schedule == "cosine":
        warmup = max(0, min(spec.warmup_epochs, spec.epochs - 1)) * steps_per_epoch
        decay = max(1, spec.epochs * steps_per_epoch - warmup)
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=spec.learning_rate * (0.1 if warmup else 1.0),
            decay_steps=decay, alpha=0.05,
            warmup_target=spec.learning_rate if warmup else None, warmup_steps=warmup,
        )
    if spec.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=spec.weight_decay)
    if spec.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    return keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True,
                                weight_decay=spec.weight_decay or None)


def quantile_bins(x: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column bin lower edges and inverse widths from quantiles of ``x`` (rows x features).

    Columns with at most two distinct values (flags, one-hot columns) get no bins: the raw input
    already says everything. Columns with few distinct values get one bin between neighbouring
    values. Repeated quantiles (many equal values) are merged, and the unused bins get inverse
    width 0, i.e. they always encode to 0.
    """
    x = np.asarray(x, dtype=np.float64)
    n_features = x.shape[1]
    lower = np.zeros((n_features, n_bins), dtype=np.float32)
    inv_width = np.zeros((n_features, n_bins), dtype=np.float32)
    qs = np.linspace(0.0, 1.0, n_bins + 1)
    for j in range(n_features):
        col = x[:, j]
        col = col[np.isfinite(col)]
        distinct = np.unique(col)
        if distinct.size <= 2:
            continue
        # Few distinct levels: one bin between neighbouring levels (a thermometer code of the level).
        edges = distinct if distinct.size <= n_bins + 1 else np.unique(np.quantile(col, qs))
        if edges.size < 2:
            continue
        k = edges.size - 1
        lower[j, :k] = edges[:-1]
        inv_width[j, :k] = 1.0 / np.diff(edges)
    return lower, inv_width


def adapt_model(model: Any, x_train: np.ndarray, y_train: np.ndarray | None, task: str) -> None:
    """Set the data-dependent constants from the training rows: bin edges, target mean and std."""
    names = {layer.name for layer in model.layers}
    if "ple" in names:
        layer = model.get_layer("ple")
        lower, inv_width = quantile_bins(x_train, layer.n_bins)
        layer.lower.assign(lower)
        layer.inv_width.assign(inv_width)
    if task == REGRESSION and y_train is not None:
        y = np.asarray(y_train, dtype=np.float64).ravel()
        std = float(np.std(y)) or 1.0
        layer = model.get_layer("output")
        layer.mean.assign(np.array([np.mean(y)], dtype=np.float32))
        layer.std.assign(np.array([std], dtype=np.float32))


def count_parameters(model: Any) -> int:
    return int(model.count_params())
