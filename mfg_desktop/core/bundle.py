"""The model file (``.mfgmodel``): one zip that opening never turns into running code.

Members (all listed with their sha256 in ``manifest.json``):

=====================  =====================================================================
``manifest.json``      format name, format version, app version, created, member checksums
``network.json``       the :class:`NetworkSpec` and the model's sizes: the architecture as data
``model.weights.h5``   the Keras weights (HDF5 arrays only); the model is rebuilt by
                       :func:`build_model` and the weights loaded into it
``recipe.json``        the fitted recipe's plain values (``FittedRecipe.to_state`` without arrays)
``recipe.npz``         its numbers, read with ``np.load(allow_pickle=False)``
``split.npz``          the row positions of the training/validation/test parts
``label_mapping.json`` target values <-> outputs
``input_schema.json``  the columns a prediction file needs, their types, categories and ranges
``metrics.json``       the validation metrics
``run.json``           provenance: ``TrainingRun.to_dict()`` (no model)
``evaluation.json``    optional: the evaluation on the held-out test rows when it was trained
                       (metrics, baselines, threshold, confusion, thinned ROC/PR points; no rows)
=====================  =====================================================================

Nothing is unpickled: JSON, HDF5 arrays and npz without pickle are the only formats read. A file
that is truncated, altered (checksum mismatch, unexpected member), foreign (not a zip, no
manifest, another format) or from a newer format version is refused with :class:`ModelFileError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop import __version__
from mfg_desktop.core.errors import MfgError, ModelFileError
from mfg_desktop.core.forward import SavedNetwork
from mfg_desktop.core.network import NetworkSpec, build_model
from mfg_desktop.core.recipe import FittedRecipe
from mfg_desktop.core.task import BINARY, REGRESSION
from mfg_desktop.core.train import TrainingRun, predict_outputs

FORMAT_NAME = "mfg_desktop-model"
FORMAT_VERSION = 1
SUFFIX = ".mfgmodel"
MANIFEST = "manifest.json"
WEIGHTS = "model.weights.h5"
EVALUATION = "evaluation.json"
# Far above any real model; protects against a crafted zip that expands to fill the disk.
MAX_MEMBER_BYTES = 2 << 30
REQUIRED_MEMBERS = ("network.json", WEIGHTS, "recipe.json", "recipe.npz", "split.npz", "label_mapping.json",
                    "input_schema.json", "metrics.json", "run.json")


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1, allow_nan=False, default=_json_default).encode("utf-8")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _model_members(run: TrainingRun) -> dict[str, bytes]:
    if run.model is None:
        raise ModelFileError("This run has no trained model to save.")
    state = run.fitted.to_state()
    arrays = state.pop("arrays")
    n_classes = run.fitted.label_mapping.n_classes
    with tempfile.TemporaryDirectory(prefix="mfg_save_") as tmp:
        weights_path = os.path.join(tmp, WEIGHTS)
        # An uncompiled twin holds the same weights without the optimizer state: the file keeps
        # what prediction needs, and loading it raises no optimizer-mismatch warnings.
        twin = build_model(run.network, run.n_features, run.task, max(n_classes, 2) if run.task != REGRESSION
                           else 1, seed=run.seed, compile=False)
        twin.set_weights(run.model.get_weights())
        twin.save_weights(weights_path)
        weights = Path(weights_path).read_bytes()
    members = {
        "network.json": _json_bytes({"spec": run.network.to_dict(), "n_features": run.n_features,
                                     "task": run.task, "n_classes": n_classes, "seed": run.seed}),
        WEIGHTS: weights,
        "recipe.json": _json_bytes(state),
        "recipe.npz": _npz_bytes(arrays),
        "split.npz": _npz_bytes({"train": run.split_train, "valid": run.split_valid, "test": run.split_test}),
        "label_mapping.json": _json_bytes(run.fitted.label_mapping.to_dict()),
        "input_schema.json": _json_bytes(run.fitted.input_schema()),
        "metrics.json": _json_bytes(run.metrics),
        "run.json": _json_bytes(run.to_dict()),
    }
    if run.test_evaluation is not None:
        members[EVALUATION] = _json_bytes(run.test_evaluation)
    return members


def save_model_file(run: TrainingRun, path: str | Path) -> Path:
    """Write ``run`` as one model file, atomically: the file at ``path`` is either the old one or
    the complete new one, never half written."""
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(SUFFIX)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError("The folder to save into does not exist.", file=path,
                             hint="Pick an existing folder.")
    members = _model_members(run)
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run.id,
        "task": run.task,
        "members": {name: _sha256(data) for name, data in members.items()},
    }
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(MANIFEST, _json_bytes(manifest))
                for name, data in members.items():
                    zf.writestr(name, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        _remove_quietly(tmp_name)
        raise ModelFileError(f"Could not write the model file ({exc.strerror or exc}).", file=path,
                             hint="Check that the folder is writable and the disk is not full.") from exc
    except BaseException:
        _remove_quietly(tmp_name)
        raise
    return path


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# reading


@dataclass
class LoadedModel:
    """An opened model file: the run (with its Keras model), the manifest, and prediction helpers."""

    run: TrainingRun
    manifest: dict[str, Any]
    path: Path
    info: dict[str, Any] = field(default_factory=dict)
    # The evaluation saved with the model (core.evaluate.StoredEvaluation), None in older files.
    stored_evaluation: Any = None

    @property
    def fitted(self) -> FittedRecipe:
        return self.run.fitted

    @property
    def model(self) -> Any:
        return self.run.model

    @property
    def task(self) -> str:
        return self.run.task

    @property
    def classes(self) -> list[Any]:
        return self.run.classes

    def input_schema(self) -> list[dict[str, Any]]:
        return self.fitted.input_schema()

    def predict_outputs(self, df: pd.DataFrame) -> np.ndarray:
        """(n, n_classes) probabilities (binary: [negative, positive]) or (n,) regression values."""
        return predict_outputs(self.model, self.fitted.transform(df), self.task)

    def predict_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """One row per input row: ``prediction`` and, for classification, ``p(<class>)`` per class.

        A binary prediction is the positive class when its probability reaches the stored
        threshold (0.5 unless the Evaluate step chose another).
        """
        out = self.predict_outputs(df)
        if self.task == REGRESSION:
            return pd.DataFrame({"prediction": out}, index=df.index)
        classes = self.classes
        if self.task == BINARY:
            threshold = 0.5 if self.run.threshold is None else float(self.run.threshold)
            codes = (out[:, 1] >= threshold).astype(np.int64)
        else:
            codes = out.argmax(axis=1)
        frame = pd.DataFrame({"prediction": self.fitted.decode_target(codes)}, index=df.index)
        for i, c in enumerate(classes):
            frame[f"p({c})"] = out[:, i]
        return frame


def _refuse(message: str, path: Path, hint: str | None = None) -> ModelFileError:
    return ModelFileError(message, file=path, hint=hint)


def _read_members(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    if not path.is_file():
        raise _refuse("The model file does not exist.", path, "Check the path.")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not zipfile.is_zipfile(path):
        if head == b"PK\x03\x04":
            raise _refuse("The model file is truncated or damaged.", path,
                          "Copy it again from where it was saved.")
        raise _refuse("This is not an mfg_desktop model file.", path, "Open a file saved by mfg_desktop (.mfgmodel).")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            if MANIFEST not in infos:
                raise _refuse("This is not an mfg_desktop model file (it has no manifest).", path,
                              "Open a file saved by mfg_desktop (.mfgmodel).")
            if any(i.file_size > MAX_MEMBER_BYTES for i in infos.values()):
                raise _refuse("The model file holds an implausibly large member; it is not one of ours.", path)
            manifest = _parse_json(zf.read(MANIFEST), MANIFEST, path)
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
                raise _refuse("This is not an mfg_desktop model file (it has another format).", path,
                              "Open a file saved by mfg_desktop (.mfgmodel).")
            version = manifest.get("format_version")
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise _refuse("The model file's format version is unreadable.", path)
            if version > FORMAT_VERSION:
                raise _refuse(
                    f"The model file was saved in format version {version} by mfg_desktop "
                    f"{manifest.get('app_version', '?')}; this version ({__version__}) reads up to {FORMAT_VERSION}.",
                    path, "Update mfg_desktop to open it.")
            listed = manifest.get("members")
            if not isinstance(listed, dict):
                raise _refuse("The model file's manifest lists no members.", path)
            extra = sorted(set(infos) - set(listed) - {MANIFEST})
            missing = sorted(set(REQUIRED_MEMBERS) - set(infos))
            if extra or missing:
                what = (f"unexpected member(s) {', '.join(extra)}" if extra else "") + \
                    ("; " if extra and missing else "") + (f"missing {', '.join(missing)}" if missing else "")
                raise _refuse(f"The model file has been altered ({what}).", path,
                              "Use the file as saved by mfg_desktop.")
            members: dict[str, bytes] = {}
            for name, digest in listed.items():
                if name not in infos:
                    raise _refuse(f"The model file has been altered (missing {name}).", path)
                data = zf.read(name)
                if _sha256(data) != digest:
                    raise _refuse(f"The model file has been altered ({name} does not match its checksum).", path,
                                  "Use the file as saved by mfg_desktop.")
                members[name] = data
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise _refuse(f"The model file is truncated or damaged ({exc}).", path,
                      "Copy it again from where it was saved.") from exc
    return manifest, members


def _parse_json(data: bytes, name: str, path: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(f"The model file's {name} is not valid JSON.", path) from exc


def _load_npz(data: bytes, name: str, path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # allow_pickle=False makes np.load refuse object arrays (a pickle) instead of running them.
        raise _refuse(f"The model file's {name} holds data that is not plain numbers; it is refused.",
                      path, "Use a file saved by mfg_desktop.") from exc


def load_model_file(path: str | Path) -> LoadedModel:
    """Open a model file, check it completely, rebuild the network and load its weights."""
    path = Path(path)
    manifest, members = _read_members(path)
    net = _parse_json(members["network.json"], "network.json", path)
    state = _parse_json(members["recipe.json"], "recipe.json", path)
    run_info = _parse_json(members["run.json"], "run.json", path)
    arrays = _load_npz(members["recipe.npz"], "recipe.npz", path)
    split_rows = _load_npz(members["split.npz"], "split.npz", path)
    bad_arrays = [k for k, a in arrays.items() if a.dtype.kind not in "fiub"]
    if bad_arrays or any(a.dtype.kind not in "iu" for a in split_rows.values()):
        raise _refuse("The model file's arrays are not plain numbers; it is refused.", path)
    try:
        if not isinstance(state, dict):
            raise TypeError("recipe.json is not an object")
        fitted = FittedRecipe.from_state({**state, "arrays": arrays})
        spec = NetworkSpec.from_dict(net["spec"])
        n_features, n_classes = int(net["n_features"]), int(net["n_classes"])
        task = str(net["task"])
        if n_features != fitted.n_features or task != fitted.task:
            raise ValueError("the network does not match the recipe")
        # NumPy inference from the stored arrays; Keras (TensorFlow) loads only if something else is asked
        model = SavedNetwork(spec, n_features, task, n_classes, seed=int(net.get("seed", 0)),
                             weights_h5=members[WEIGHTS])
        run = TrainingRun.from_dict(run_info, fitted, split_rows, model=model)
    except ModelFileError:
        raise
    except MfgError as exc:
        raise _refuse(f"The model file's contents are inconsistent ({exc.message}).", path) from exc
    except Exception as exc:  # any other inconsistency in the stored values: refuse, never crash
        raise _refuse(f"The model file's contents are inconsistent ({type(exc).__name__}: {exc}).", path,
                      "Use a file saved by mfg_desktop.") from exc
    stored = None
    if EVALUATION in members:
        from mfg_desktop.core.evaluate import StoredEvaluation

        try:
            summary = _parse_json(members[EVALUATION], EVALUATION, path)
            stored = StoredEvaluation.from_dict(summary)
            if stored.task != run.task or [str(c) for c in stored.classes] != [str(c) for c in run.classes]:
                raise ValueError("it belongs to another task or other classes than the model")
        except (ValueError, TypeError, AttributeError) as exc:
            raise _refuse(f"The model file's {EVALUATION} is inconsistent ({exc}).", path,
                          "Use a file saved by mfg_desktop.") from exc
        run.test_evaluation = summary
    return LoadedModel(run=run, manifest=manifest, path=path,
                       info={"network": net, "metrics": run.metrics}, stored_evaluation=stored)
