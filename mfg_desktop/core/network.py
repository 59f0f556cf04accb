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

On top, the hidden layers are an efficient ensemble of ``ensemble_size`` members in ONE model
(TabM, Gorishniy et al. 2024, after BatchEnsemble, Wen et al. 2020): every member shares each
hidden layer's weight matrix ``W`` and owns only rank-1 adapters and a bias, ``y_i = ((x_i * r_i)
W) * s_i + b_i``, plus its own output head; the members' predictions (probabilities, or values)
are averaged. ``r`` of the first layer starts with random signs, every other adapter at 1, so the
members differ from the first step. ``ensemble_size=1`` is the plain MLP.

``architecture="sequence"`` is the network for sensor histories that reads the last
``sequence_length`` rows of each entity itself instead of window features (built by
:func:`core.history.sequence_windows`): input (rows, W, F + 1), the recipe's F features of each of the
W rows, oldest first, plus a presence channel that is 0 on the padding before a short entity's first
row. Causal 1-D convolutions (a step sees only itself and earlier steps) find local shapes (a rise,
a spike), a GRU reads them in order with the padded steps masked out (its state passes them
unchanged), then the dense ``hidden`` layers and the output as for the dense network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np

from mfg_desktop.core.backend import import_keras
from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.i18n import tr
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION

ACTIVATIONS = ("relu", "gelu", "silu", "selu", "tanh", "elu")
OPTIMIZERS = ("adamw", "adam", "sgd")
LOSSES = ("auto", "binary_crossentropy", "categorical_crossentropy", "mse", "mae", "huber")
ENCODINGS = ("ple", "none")
SCHEDULES = ("cosine", "constant")
MONITORS = ("auto", "val_loss", "val_pr_auc", "val_accuracy")
ARCHITECTURES = ("dense", "sequence")
DENSE, SEQUENCE = ARCHITECTURES
MAX_SEQUENCE_LENGTH = 1_000


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
    # members of the efficient ensemble (1: a plain MLP); each costs about one more pass of the
    # hidden layers, so the presets pair it with layer widths that keep an epoch quick on a CPU
    ensemble_size: int = 1
    # "dense": rows (with their window features) in, see above; "sequence": each row's last
    # sequence_length rows of its entity in, through causal convolutions and a GRU
    architecture: str = DENSE
    sequence_length: int = 50
    conv_layers: int = 2
    conv_filters: int = 32
    kernel_size: int = 5
    gru_units: int = 48

    def __post_init__(self) -> None:
        self.hidden = [int(u) for u in self.hidden]
        problems = []
        if not self.hidden or any(u < 1 for u in self.hidden):
            problems.append(tr("hidden layers need at least one layer with one or more units"))
        if self.activation not in ACTIVATIONS:
            problems.append(tr("activation '{value}' is not one of {choices}", value=self.activation,
                                  choices=", ".join(ACTIVATIONS)))
        if not 0.0 <= self.dropout < 1.0:
            problems.append(tr("dropout must be in [0, 1)"))
        if self.optimizer not in OPTIMIZERS:
            problems.append(tr("optimizer '{value}' is not one of {choices}", value=self.optimizer,
                                  choices=", ".join(OPTIMIZERS)))
        if not self.learning_rate > 0:
            problems.append(tr("learning rate must be positive"))
        if self.weight_decay < 0:
            problems.append(tr("weight decay cannot be negative"))
        if self.loss not in LOSSES:
            problems.append(tr("loss '{value}' is not one of {choices}", value=self.loss, choices=", ".join(LOSSES)))
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            problems.append(tr("epochs, batch size and patience must be at least 1"))
        if self.numeric_encoding not in ENCODINGS:
            problems.append(tr("input encoding '{value}' is not one of {choices}", value=self.numeric_encoding,
                                  choices=", ".join(ENCODINGS)))
        if self.numeric_encoding == "ple" and (self.n_bins < 2 or self.embedding_dim < 1):
            problems.append(tr("piecewise-linear encoding needs at least 2 bins and an embedding size >= 1"))
        if self.monitor not in MONITORS:
            problems.append(tr("monitor '{value}' is not one of {choices}", value=self.monitor, choices=", ".join(MONITORS)))
        if not 1 <= int(self.ensemble_size) <= 64:
            problems.append(tr("the ensemble needs 1 to 64 members"))
        if self.architecture not in ARCHITECTURES:
            problems.append(tr("architecture '{name}' is not one of {names}", name=self.architecture,
                               names=", ".join(ARCHITECTURES)))
        if self.architecture == SEQUENCE:
            if not 1 <= int(self.sequence_length) <= MAX_SEQUENCE_LENGTH:
                problems.append(tr("the sequence length must be 1 to {n:,} rows", n=MAX_SEQUENCE_LENGTH))
            if int(self.conv_layers) < 0 or int(self.conv_filters) < 1 or int(self.kernel_size) < 1 \
                    or int(self.gru_units) < 1:
                problems.append(tr("the sequence network needs 0 or more convolutions of at least 1 filter and "
                                   "width, and a GRU of at least 1 unit"))
            if self.ensemble_size != 1 or self.numeric_encoding != "none":
                problems.append(tr("the sequence network has no ensemble and no piecewise-linear encoding"))
        if self.lr_schedule not in SCHEDULES:
            problems.append(tr("learning-rate schedule '{value}' is not one of {choices}", value=self.lr_schedule,
                                  choices=", ".join(SCHEDULES)))
        if problems:
            raise TrainingError(tr("Network settings: {problems}.", problems="; ".join(problems)))

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
    # thorough: an efficient ensemble of 8 (TabM-style) instead of one wider network. On ai4i2020
    # (2 busy cores) an epoch of 8 members of 256-wide layers took 2.6 s against 0.4 s for one
    # network of the same width, too slow for the default; see tests/benchmarks/bench_models.py.
    "thorough": NetworkSpec(
        hidden=[256, 256, 256], dropout=0.2, epochs=300, patience=40, batch_size=128, n_bins=32,
        embedding_dim=16, learning_rate=7e-4, ensemble_size=8,
    ),
}
DEFAULT_PRESET = "balanced"


def preset(name: str) -> NetworkSpec:
    """A fresh copy of a named preset (callers may change it freely)."""
    if name not in PRESETS:
        raise TrainingError(tr("Unknown preset '{name}'.", name=name), hint=tr("Use one of: {choices}.",
                                                                            choices=", ".join(PRESETS)))
    return NetworkSpec.from_dict(PRESETS[name].to_dict())


def sequence_spec(base: NetworkSpec, sequence_length: int | None = None) -> NetworkSpec:
    """The sequence network trained like ``base`` (epochs, patience, batch size, learning rate of
    the preset), with its own layers: two causal convolutions of 32 filters 5 wide, a GRU of 48
    and one dense layer of 64. The default window, 50 rows, had the lowest validation RMSE on
    C-MAPSS FD001 of 30, 40 and 50 (12.2 against 13.0 and 13.8; tests/benchmarks/bench_history.py)."""
    if base.architecture == SEQUENCE:
        spec = base
    else:
        spec = base.with_changes(architecture=SEQUENCE, hidden=[64], dropout=0.1, numeric_encoding="none",
                                 ensemble_size=1, batch_norm=False)
    if sequence_length is not None:
        spec = spec.with_changes(sequence_length=int(sequence_length))
    spec.__post_init__()
    return spec


def resolve_loss(spec: NetworkSpec, task: str) -> str:
    """The Keras loss name for this task ('auto' picks the one that fits)."""
    if task not in (BINARY, MULTICLASS, REGRESSION):
        raise TrainingError(tr("Unknown task '{task}'.", task=task))
    loss = spec.loss
    if loss == "auto":
        return {BINARY: "binary_crossentropy", MULTICLASS: "sparse_categorical_crossentropy",
                REGRESSION: "mse"}[task]
    classification = {"binary_crossentropy", "categorical_crossentropy"}
    if (task == REGRESSION) == (loss in classification):
        raise TrainingError(tr("The loss '{loss}' does not fit a {task} task.", loss=loss, task=task),
                            hint=tr("Use 'auto'."))
    if task == BINARY and loss != "binary_crossentropy":
        raise TrainingError(tr("A binary task needs the binary cross-entropy loss."), hint=tr("Use 'auto'."))
    if task == MULTICLASS:
        return "sparse_categorical_crossentropy"  # targets are class indices, not one-hot rows
    return "huber" if loss == "huber" else loss


def resolve_monitor(spec: NetworkSpec, task: str) -> tuple[str, str]:
    """The validation quantity early stopping follows, and whether lower ("min") or higher is better."""
    monitor = spec.monitor
    if monitor == "auto":
        monitor = {BINARY: "val_pr_auc", MULTICLASS: "val_accuracy"}.get(task, "val_loss")
    if monitor == "val_pr_auc" and task != BINARY:
        raise TrainingError(tr("Early stopping on PR-AUC needs a binary target."), hint=tr("Use 'auto'."))
    if monitor == "val_accuracy" and task == REGRESSION:
        raise TrainingError(tr("Early stopping on accuracy needs a classification target."), hint=tr("Use 'auto'."))
    return monitor, ("min" if monitor == "val_loss" else "max")


def metric_name(task: str) -> str:
    """The metric shown next to the loss: accuracy for classification, MAE for regression."""
    return "mae" if task == REGRESSION else "accuracy"


# Plausibility limits, checked before Keras allocates anything: far above any tabular network worth
# training on a desktop (the "thorough" preset has 3 x 384 units, about 0.3 M parameters), far
# below what would exhaust a PC's memory (a model file asking for 2 x 25,000 units or 20,000
# layers would otherwise allocate gigabytes before it could be refused).
MAX_HIDDEN_LAYERS = 64
MAX_UNITS = 16_384
MAX_FEATURES = 100_000
MAX_BINS = 1_024
MAX_EMBEDDING_DIM = 1_024
MAX_CLASSES = 100_000
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights


def planned_parameters(spec: NetworkSpec, n_features: int, task: str, n_classes: int) -> int:
    """The number of weights :func:`build_model` would create (trainable or not), computed from the
    sizes alone, without Keras."""
    n_outputs = n_classes if task == MULTICLASS else 1
    f, t, d = int(n_features), int(spec.n_bins), int(spec.embedding_dim)
    total, width = 0, f
    if spec.architecture == SEQUENCE:
        width = f + 1  # the presence channel
        for _ in range(int(spec.conv_layers)):
            total += spec.kernel_size * width * spec.conv_filters + spec.conv_filters
            width = spec.conv_filters
        g = int(spec.gru_units)
        total += 3 * g * (width + g) + 6 * g  # kernel, recurrent kernel, two biases (reset_after)
        width = g
    elif spec.numeric_encoding == "ple":
        total += 2 * f * t + f * t * d + f * d  # bin edges, per-feature embedding kernel and bias
        width = f + f * d
    for units in spec.hidden:
        total += width * units + (4 * units if spec.batch_norm else units)
        width = units
    return total + width * n_outputs + n_outputs + (2 if task == REGRESSION else 0)  # output, rescale


def check_network_size(spec: NetworkSpec, n_features: int, task: str, n_classes: int) -> int:
    """Refuse sizes no real network has (see the limits above); the planned parameter count."""
    n_outputs = n_classes if task == MULTICLASS else 1
    problems = []
    if len(spec.hidden) > MAX_HIDDEN_LAYERS:
        problems.append(tr("{count:,} hidden layers (at most {limit})", count=len(spec.hidden), limit=MAX_HIDDEN_LAYERS))
    if spec.hidden and max(spec.hidden) > MAX_UNITS:
        problems.append(tr("a layer of {units:,} units (at most {limit:,})", units=max(spec.hidden), limit=MAX_UNITS))
    if not 1 <= n_features <= MAX_FEATURES:
        problems.append(tr("{count:,} inputs (1 to {limit:,})", count=n_features, limit=MAX_FEATURES))
    if not 1 <= n_outputs <= MAX_CLASSES:
        problems.append(tr("{count:,} outputs (1 to {limit:,})", count=n_outputs, limit=MAX_CLASSES))
    if spec.architecture == SEQUENCE and max(spec.conv_filters, spec.gru_units, spec.kernel_size) > MAX_UNITS:
        problems.append(tr("convolutions or a GRU wider than {n:,}", n=MAX_UNITS))
    if spec.numeric_encoding == "ple" and (spec.n_bins > MAX_BINS or spec.embedding_dim > MAX_EMBEDDING_DIM):
        problems.append(tr("{bins:,} bins of {dims:,} dimensions (at most {max_bins:,} and {max_dims:,})",
                           bins=spec.n_bins, dims=spec.embedding_dim, max_bins=MAX_BINS, max_dims=MAX_EMBEDDING_DIM))
    if problems:
        raise TrainingError(tr("The network is implausibly large: {problems}.", problems="; ".join(problems)),
                            hint=tr("Use fewer or smaller layers."))
    n_params = planned_parameters(spec, n_features, task, n_classes)
    if n_params > MAX_PARAMETERS:
        raise TrainingError(tr("The network would have {parameters:,} parameters (at most {limit:,}).",
                               parameters=n_params, limit=MAX_PARAMETERS),
                            hint=tr("Use fewer or smaller layers, fewer bins or a smaller embedding."))
    return n_params


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

    class PresenceMask(keras.layers.Layer):
        """The GRU's mask from the sequence input's last channel: True on steps that hold a row."""

        def call(self, x):
            return ops.greater(x[:, :, -1], 0.5)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], input_shape[1])

    class Rescale(keras.layers.Layer):
        """Regression output back in the target's units: z * std + mean (set from training rows)."""

        def build(self, input_shape):
            self.mean = self.add_weight(shape=(1,), initializer="zeros", trainable=False, name="mean")
            self.std = self.add_weight(shape=(1,), initializer="ones", trainable=False, name="std")

        def call(self, z):
            return z * self.std + self.mean

    class EnsembleCopies(keras.layers.Layer):
        """(batch, d) -> (batch, k, d): the same input for every member."""

        def __init__(self, k: int, **kwargs):
            super().__init__(**kwargs)
            self.k = k

        def call(self, x):
            return ops.repeat(ops.expand_dims(x, 1), self.k, axis=1)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.k, input_shape[-1])

    class EnsembleDense(keras.layers.Layer):
        """BatchEnsemble's dense layer: a shared kernel, per-member rank-1 adapters and bias.

        (batch, k, d_in) -> (batch, k, units): ``((x * r) @ kernel) * s + bias``.
        """

        def __init__(self, units: int, k: int, seed: int, random_sign_r: bool = False, **kwargs):
            super().__init__(**kwargs)
            self.units, self.k, self.seed, self.random_sign_r = units, k, seed, random_sign_r

        def build(self, input_shape):
            d_in = int(input_shape[-1])
            self.kernel = self.add_weight(shape=(d_in, self.units), name="kernel",
                                          initializer=keras.initializers.HeNormal(seed=self.seed))
            r_init: Any = "ones"
            if self.random_sign_r:
                signs = np.where(np.random.default_rng(self.seed).random((self.k, d_in)) < 0.5, -1.0, 1.0)
                r_init = keras.initializers.Constant(signs.astype("float32"))
            self.r = self.add_weight(shape=(self.k, d_in), name="r", initializer=r_init)
            self.s = self.add_weight(shape=(self.k, self.units), name="s", initializer="ones")
            self.bias = self.add_weight(shape=(self.k, self.units), name="bias", initializer="zeros")

        def call(self, x):
            return ops.matmul(x * ops.cast(self.r, x.dtype), ops.cast(self.kernel, x.dtype)) \
                * ops.cast(self.s, x.dtype) + ops.cast(self.bias, x.dtype)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.k, self.units)

    class EnsembleHeads(keras.layers.Layer):
        """One output head per member, (batch, k, d) -> (batch, k, outputs), the members' own
        activation, then the mean over the members -> (batch, outputs)."""

        def __init__(self, outputs: int, k: int, activation: str | None, seed: int, **kwargs):
            super().__init__(**kwargs)
            self.outputs, self.k, self.activation, self.seed = outputs, k, activation, seed

        def build(self, input_shape):
            d = int(input_shape[-1])
            limit = float(np.sqrt(6.0 / (d + self.outputs)))
            self.kernel = self.add_weight(shape=(self.k, d, self.outputs), name="kernel",
                                          initializer=keras.initializers.RandomUniform(-limit, limit,
                                                                                       seed=self.seed))
            self.bias = self.add_weight(shape=(self.k, self.outputs), name="bias", initializer="zeros")

        def call(self, h):
            z = ops.einsum("bkd,kdo->bko", ops.cast(h, "float32"), self.kernel) + self.bias
            if self.activation == "sigmoid":
                z = ops.sigmoid(z)
            elif self.activation == "softmax":
                z = ops.softmax(z, axis=-1)
            return ops.mean(z, axis=1)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.outputs)

    return {"SmoothClip": SmoothClip, "PiecewiseLinearEncoding": PiecewiseLinearEncoding,
            "FeatureEmbedding": FeatureEmbedding, "Rescale": Rescale, "PresenceMask": PresenceMask, "EnsembleCopies": EnsembleCopies,
            "EnsembleDense": EnsembleDense, "EnsembleHeads": EnsembleHeads}


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
    if n_features < 1:
        raise TrainingError(tr("There are no input columns left to train on."),
                            hint=tr("Tick at least one usable input on the Prepare step."))
    if task != REGRESSION and n_classes < 2:
        raise TrainingError(tr("The target needs at least two classes to train a classifier."))
    check_network_size(spec, n_features, task, n_classes)
    keras = import_keras()  # only after the sizes are known to be sane: importing it costs seconds

    loss = resolve_loss(spec, task)
    layers = _layer_classes()
    hidden_dtype = keras.DTypePolicy("mixed_float16") if mixed_precision else None

    if spec.architecture == SEQUENCE:
        inputs, h = _sequence_body(spec, n_features, seed)
        return _dense_head(spec, inputs, h, task, n_classes, seed, hidden_dtype, steps_per_epoch,
                           mixed_precision, compile, loss)
    inputs = keras.Input(shape=(n_features,), name="inputs", dtype="float32")
    x = layers["SmoothClip"](name="smooth_clip")(inputs) if spec.smooth_clip else inputs
    parts = [x]
    if spec.numeric_encoding == "ple":
        enc = layers["PiecewiseLinearEncoding"](n_features, spec.n_bins, name="ple")(x)
        emb = layers["FeatureEmbedding"](n_features, spec.n_bins, spec.embedding_dim, seed + 11,
                                        name="feature_embedding")(enc)
        parts.append(keras.layers.Activation("relu", name="embedding_relu")(emb))
    h = keras.layers.Concatenate(name="features")(parts) if len(parts) > 1 else parts[0]
    if spec.ensemble_size > 1:
        return _ensemble_model(spec, inputs, h, task, n_classes, seed, hidden_dtype, steps_per_epoch,
                               mixed_precision, compile, loss)
    return _dense_head(spec, inputs, h, task, n_classes, seed, hidden_dtype, steps_per_epoch, mixed_precision,
                       compile, loss)


def _sequence_body(spec: NetworkSpec, n_features: int, seed: int) -> tuple[Any, Any]:
    """The sequence network's input and its per-window vector: causal convolutions, then a GRU over
    the steps that hold rows (the presence channel, last, is the mask). Kept in float32: a GRU of
    this size gains nothing from float16 and its recurrence loses precision in it."""
    keras = import_keras()

    layers = _layer_classes()
    inputs = keras.Input(shape=(int(spec.sequence_length), n_features + 1), name="inputs", dtype="float32")
    h = layers["SmoothClip"](name="smooth_clip")(inputs) if spec.smooth_clip else inputs
    mask = layers["PresenceMask"](name="presence_mask")(inputs)
    for i in range(int(spec.conv_layers)):
        h = keras.layers.Conv1D(int(spec.conv_filters), int(spec.kernel_size), padding="causal",
                                activation=spec.activation, name=f"conv_{i}",
                                kernel_initializer=keras.initializers.HeNormal(seed=seed + 400 + i))(h)
    h = keras.layers.GRU(int(spec.gru_units), name="gru", seed=seed + 500,
                         kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 501),
                         recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 502))(h, mask=mask)
    return inputs, h


def _dense_head(spec: NetworkSpec, inputs: Any, h: Any, task: str, n_classes: int, seed: int, hidden_dtype: Any,
                steps_per_epoch: int | None, mixed_precision: bool, compile: bool, loss: str) -> Any:
    """The hidden dense layers and the output on ``h``, compiled."""
    keras = import_keras()

    layers = _layer_classes()
    act = spec.activation
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
    return _compiled(model, spec, task, steps_per_epoch, mixed_precision, compile, loss)


def _ensemble_model(spec: NetworkSpec, inputs: Any, h: Any, task: str, n_classes: int, seed: int,
                    hidden_dtype: Any, steps_per_epoch: int | None, mixed_precision: bool, compile: bool,
                    loss: str) -> Any:
    """The hidden layers and output as an efficient ensemble (see the module docstring)."""
    import keras

    layers = _layer_classes()
    k = int(spec.ensemble_size)
    h = layers["EnsembleCopies"](k, name="ensemble_copies")(h)
    for i, units in enumerate(spec.hidden):
        h = layers["EnsembleDense"](units, k, seed + 100 + i, random_sign_r=(i == 0), name=f"dense_{i}",
                                    dtype=hidden_dtype)(h)
        if spec.batch_norm:
            h = keras.layers.BatchNormalization(name=f"batch_norm_{i}", dtype=hidden_dtype)(h)
        h = keras.layers.Activation(spec.activation, name=f"act_{i}", dtype=hidden_dtype)(h)
        if spec.dropout > 0:
            h = keras.layers.Dropout(spec.dropout, seed=seed + 200 + i, name=f"dropout_{i}", dtype=hidden_dtype)(h)
    if task == REGRESSION:
        z = layers["EnsembleHeads"](1, k, None, seed + 300, name="output_scaled", dtype="float32")(h)
        outputs = layers["Rescale"](name="output", dtype="float32")(z)
    else:
        width, activation = (1, "sigmoid") if task == BINARY else (n_classes, "softmax")
        outputs = layers["EnsembleHeads"](width, k, activation, seed + 300, name="output", dtype="float32")(h)
    model = keras.Model(inputs, outputs, name="mfg_network")
    return _compiled(model, spec, task, steps_per_epoch, mixed_precision, compile, loss)


def _compiled(model: Any, spec: NetworkSpec, task: str, steps_per_epoch: int | None, mixed_precision: bool,
              compile: bool, loss: str) -> Any:
    import keras

    if not compile:
        return model
    optimizer = make_optimizer(spec, steps_per_epoch or 100)
    if mixed_precision:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric_name(task)],
                  steps_per_execution=steps_per_execution(model.count_params() * spec.ensemble_size,
                                                               spec.batch_size))
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
