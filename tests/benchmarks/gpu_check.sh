#!/usr/bin/env bash
# GPU check for mfg_desktop's training code under JAX (no TensorFlow on that machine).
# Run from the repository root of the working tree on the GPU machine, e.g.
#   bash gpu_check.sh            (after copying this file into the repo, or: bash /path/to/gpu_check.sh)
# Needs: keras (wheel carried), jax with CUDA, numpy, pandas, scikit-learn, h5py, pyarrow.
# Prints: backend + device, whether mixed precision was used, per-epoch samples/s of the balanced
# preset on ai4i2020 (leak columns excluded), a float32 bare-fit comparison, and a save/load check.
set -euo pipefail
export KERAS_BACKEND=jax
export XLA_PYTHON_CLIENT_PREALLOCATE=false
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python - <<'EOF'
import importlib, sys, time
missing = [m for m in ("keras", "jax", "numpy", "pandas", "sklearn", "h5py") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing packages: {', '.join(missing)}")
import jax, keras, numpy as np, pandas as pd
print(f"keras {keras.__version__}, backend {keras.config.backend()}, jax {jax.__version__}, devices {jax.devices()}")
assert keras.config.backend() == "jax", "KERAS_BACKEND=jax was not honoured"
assert "tensorflow" not in sys.modules

from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import adapt_model, build_model, preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import EpochUpdate, describe_device, train_run
from sklearn.metrics import average_precision_score, roc_auc_score

print("device:", describe_device())
df = pd.read_csv("tests/data/ai4i2020.csv", encoding="utf-8-sig")
recipe = propose_recipe(df, "Machine_failure", exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
spec = preset("balanced").with_changes(epochs=8, patience=100)
epochs = []
t = time.perf_counter()
run = train_run(df, recipe, SplitSpec(), spec, seed=0,
                state=JobState(on_partial_result=lambda u: epochs.append(u) if isinstance(u, EpochUpdate) else None))
print(f"train_run: {time.perf_counter() - t:.1f} s, device {run.device!r}, mixed precision {run.mixed_precision}, "
      "dtype policy of dense_0:", run.model.get_layer("dense_0").dtype_policy.name)
for u in epochs:
    print(f"  epoch {u.epoch}/{u.epochs}  loss {u.loss:.4f}  val_loss {u.val_loss:.4f}  {u.samples_per_s:,.0f} samples/s")
print(f"median samples/s after epoch 1: {np.median([u.samples_per_s for u in epochs[1:]]):,.0f}")
test = df.iloc[run.split_test]
p = run.predict_matrix(run.fitted.transform(test))[:, 1]
y = run.fitted.encode_target(test)
print(f"test ROC-AUC {roc_auc_score(y, p):.3f}  PR-AUC {average_precision_score(y, p):.3f} (8 epochs only)")

# float32 bare fit of the same model for comparison
x = run.fitted.transform(df)
yy = run.fitted.encode_target(df).astype("float32")
xt, yt = x[run.split_train], yy[run.split_train]
model = build_model(spec, x.shape[1], "binary", 2, seed=0, steps_per_epoch=int(np.ceil(len(xt) / spec.batch_size)))
adapt_model(model, xt, yt, "binary")
marks = []
class Clock(keras.callbacks.Callback):
    def on_epoch_begin(self, e, logs=None): marks.append(time.perf_counter())
    def on_epoch_end(self, e, logs=None): marks[-1] = time.perf_counter() - marks[-1]
model.fit(xt, yt, epochs=5, batch_size=spec.batch_size, verbose=0, callbacks=[Clock()])
print(f"bare float32 model.fit: median {len(xt) / np.median(marks[1:]):,.0f} samples/s")

import tempfile, os
from mfg_desktop.core.bundle import load_model_file, save_model_file
with tempfile.TemporaryDirectory() as tmp:
    path = save_model_file(run, os.path.join(tmp, "gpu.mfgmodel"))
    loaded = load_model_file(path)
    diff = np.abs(loaded.predict_outputs(test) - run.predict_matrix(run.fitted.transform(test))).max()
    print(f"save/load round trip: max prediction difference {diff:.2e}")
EOF
