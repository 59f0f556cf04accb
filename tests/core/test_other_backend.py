"""The model and training code run on a Keras backend other than TensorFlow (issue 3, point 5).

A GPU machine may have JAX (or PyTorch) instead of TensorFlow. This trains, saves, reopens and
scores with ``KERAS_BACKEND=jax`` on the CPU in a fresh process in which TensorFlow cannot be
imported, and checks that a model file written there opens under TensorFlow with the same
predictions: the file does not depend on the backend that wrote it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.bundle import load_model_file

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")

SCRIPT = r"""
import json, sys


class NoTensorFlow:  # the GPU machines this stands for have no TensorFlow; this one has it: hide it
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, NoTensorFlow())
import numpy as np, pandas as pd
from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import EpochUpdate, train_run

data, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(data, encoding="utf-8-sig").iloc[:3000]
recipe = propose_recipe(df, "Machine_failure", exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
spec = NetworkSpec(hidden=[32, 32], epochs=3, batch_size=128, patience=50, n_bins=8, embedding_dim=4)
# the efficient ensemble (network only, so the file's predictions are the ensemble's) ...
ensemble = train_run(df, recipe, SplitSpec(), spec.with_changes(ensemble_size=4), seed=0, model_choice="network")
save_model_file(ensemble, out + ".ensemble")
p_ensemble = load_model_file(out + ".ensemble").predict_outputs(df.iloc[:200])
# ... and the default: Auto (plain network and LightGBM)
epochs = []
state = JobState(on_partial_result=lambda u: epochs.append(u.epoch) if isinstance(u, EpochUpdate) else None)
run = train_run(df, recipe, SplitSpec(), spec, seed=0, state=state)
save_model_file(run, out)
loaded = load_model_file(out)
p = loaded.predict_outputs(df.iloc[:200])
import keras
print(json.dumps({
    "ensemble_predictions": p_ensemble[:, 1].tolist(),
    "ensemble_same_after_reopening": bool(np.allclose(
        p_ensemble, ensemble.predict_matrix(ensemble.fitted.transform(df.iloc[:200])), atol=1e-6)),
    "backend": keras.config.backend(),
    "tensorflow_imported": "tensorflow" in sys.modules,
    "device": run.device,
    "epochs": epochs,
    "history": run.history,
    "predictions": p[:, 1].tolist(),
    "same_after_reopening": bool(np.allclose(p, run.predict_matrix(run.fitted.transform(df.iloc[:200])), atol=1e-6)),
}))
"""


def test_training_runs_on_jax_and_its_model_file_opens_under_tensorflow(tmp_path, ai4i_path):
    model_path = tmp_path / "jax.mfgmodel"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "KERAS_HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(ai4i_path), str(model_path)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax" and not result["tensorflow_imported"]
    assert result["device"].startswith("CPU") and result["epochs"] == [1, 2, 3]
    history = result["history"]
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "val_pr_auc"} <= set(history)
    assert all(len(v) == 3 and np.all(np.isfinite(v)) for v in history.values())
    assert result["same_after_reopening"]

    # this process runs TensorFlow: the file written under JAX gives the same probabilities here
    df = pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:200]
    here = load_model_file(model_path).predict_outputs(df)[:, 1]
    np.testing.assert_allclose(here, result["predictions"], atol=1e-5)
    assert result["ensemble_same_after_reopening"]
    ensemble = load_model_file(str(model_path) + ".ensemble")
    assert ensemble.run.network.ensemble_size == 4 and ensemble.model.get_layer("dense_0").r.shape[0] == 4
    np.testing.assert_allclose(ensemble.predict_outputs(df)[:, 1], result["ensemble_predictions"], atol=1e-5)
