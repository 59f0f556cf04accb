"""The model file (``.mfgmodel``): one zip that opening never turns into running code.

Members (all listed with their sha256 in ``manifest.json``):

=====================  =====================================================================
``manifest.json``      format name, format version, app version, created, member checksums
``network.json``       the :class:`NetworkSpec` and the model's sizes: the architecture as data
``model.weights.h5``   the Keras weights (HDF5 arrays only); the model is rebuilt by
                       :func:`build_model` and the weights loaded into it
``trees.txt``          the LightGBM challenger in LightGBM's own text format (trees only), checked
                       line by line (:func:`core.trees.trees_from_text`) before LightGBM reads it
``recipe.json``        the fitted recipe's plain values (``FittedRecipe.to_state`` without arrays)
``recipe.npz``         its numbers, read with ``np.load(allow_pickle=False)``
``split.npz``          the row positions of the training/validation/test parts
``label_mapping.json`` target values <-> outputs
``input_schema.json``  the columns a prediction file needs, their types, categories and ranges
``metrics.json``       the validation metrics
``run.json``           provenance: ``TrainingRun.to_dict()`` (no model), with ``models``: which
                       model was asked for and chosen, why, and per model its validation numbers,
                       threshold, calibration (numbers) and prediction interval
``evaluation.json``    optional: the evaluation on the held-out test rows when it was trained
                       (metrics, baselines, threshold, confusion, thinned ROC/PR points; no rows)
=====================  =====================================================================

The network members are there when the run trained a network, ``trees.txt`` when it trained the
trees (format version 2; version 1 files hold a network only and still open).
Nothing is unpickled: JSON, HDF5 arrays, npz without pickle and LightGBM's tree text are the only
formats read. A file
that is truncated, altered (checksum mismatch, unexpected member), foreign (not a zip, no
manifest, another format) or from a newer format version is refused with :class:`ModelFileError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop import __version__
from mfg_desktop.core.atomic import atomic_write, scratch_dir
from mfg_desktop.core.errors import MfgError, ModelFileError
from mfg_desktop.core.forward import SavedNetwork, WeightsMismatch
from mfg_desktop.core.i18n import tr
from mfg_desktop.core.network import MAX_PARAMETERS, NetworkSpec, build_model, check_network_size
from mfg_desktop.core.recipe import FittedRecipe
from mfg_desktop.core.task import BINARY, REGRESSION
from mfg_desktop.core.train import TrainingRun

FORMAT_NAME = "mfg_desktop-model"
FORMAT_VERSION = 2
SUFFIX = ".mfgmodel"
MANIFEST = "manifest.json"
WEIGHTS = "model.weights.h5"
NETWORK_MEMBERS = ("network.json", WEIGHTS)
TREES_MEMBER = "trees.txt"
EVALUATION = "evaluation.json"
REQUIRED_MEMBERS = ("recipe.json", "recipe.npz", "split.npz", "label_mapping.json",
                    "input_schema.json", "metrics.json", "run.json")
KNOWN_MEMBERS = (*NETWORK_MEMBERS, TREES_MEMBER, EVALUATION, *REQUIRED_MEMBERS)
# What a crafted file may claim, refused before anything is read or built. Far above any real
# model (weights: the largest network :func:`check_network_size` accepts, in float32, plus HDF5
# overhead; split.npz: 8 bytes per training row, 30 M rows), far below what would exhaust memory:
# every member is held in memory, so the total bounds what opening a file can cost.
MAX_WEIGHTS_BYTES = 4 * MAX_PARAMETERS + (16 << 20)
MAX_MEMBER_BYTES = 256 << 20
# JSON becomes Python objects ~20 times its size (a list of small numbers): a tighter limit. The
# largest real one, a recipe with 100,000 categories, is a few MB.
MAX_JSON_BYTES = 16 << 20
MAX_TOTAL_BYTES = 512 << 20
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_S_IFMT, _S_IFLNK, _S_IFREG, _S_IFDIR = 0o170000, 0o120000, 0o100000, 0o040000


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
    if not run.has_model:
        raise ModelFileError(tr("This run has no trained model to save."))
    state = run.fitted.to_state()
    arrays = state.pop("arrays")
    n_classes = run.fitted.label_mapping.n_classes
    members: dict[str, bytes] = {}
    if run.model is not None:
        with scratch_dir() as tmp:
            weights_path = os.path.join(tmp, WEIGHTS)
            # An uncompiled twin holds the same weights without the optimizer state: the file keeps
            # what prediction needs, and loading it raises no optimizer-mismatch warnings.
            twin = build_model(run.network, run.n_features, run.task, max(n_classes, 2)
                               if run.task != REGRESSION else 1, seed=run.seed, compile=False)
            twin.set_weights(run.model.get_weights())
            twin.save_weights(weights_path)
            members[WEIGHTS] = Path(weights_path).read_bytes()
        members["network.json"] = _json_bytes({"spec": run.network.to_dict(), "n_features": run.n_features,
                                               "task": run.task, "n_classes": n_classes, "seed": run.seed})
    if run.trees is not None:
        members[TREES_MEMBER] = run.trees.to_text().encode("ascii")
    members.update({
        "recipe.json": _json_bytes(state),
        "recipe.npz": _npz_bytes(arrays),
        "split.npz": _npz_bytes({"train": run.split_train, "valid": run.split_valid, "test": run.split_test}),
        "label_mapping.json": _json_bytes(run.fitted.label_mapping.to_dict()),
        "input_schema.json": _json_bytes(run.fitted.input_schema()),
        "metrics.json": _json_bytes(run.metrics),
        "run.json": _json_bytes(run.to_dict()),
    })
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
        raise ModelFileError(tr("The folder to save into does not exist."), file=path,
                             hint=tr("Pick an existing folder."))
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
    return write_members(path, manifest, members)


def write_members(path: Path, manifest: Mapping[str, Any], members: Mapping[str, bytes]) -> Path:
    """Write the zip (manifest first) through :func:`atomic_write`: a ``kill -9`` at any moment
    leaves the old file or the complete new one (the kill -9 test calls this with a real file's
    members, which needs no Keras)."""
    try:
        with atomic_write(path) as out, zipfile.ZipFile(out.handle, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, _json_bytes(manifest))
            for name, data in members.items():
                zf.writestr(name, data)
    except OSError as exc:
        raise ModelFileError(tr("Could not write the model file ({reason}).", reason=exc.strerror or exc), file=path,
                             hint=tr("Check that the folder is writable and the disk is not full.")) from exc
    return path


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
        """(n, n_classes) probabilities (binary: [negative, positive]) or (n,) regression values,
        from the chosen model, calibrated where training found that it helps."""
        return self.run.predict_matrix(self.fitted.transform(df), frame=df)

    def predict_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """One row per input row: ``prediction`` and, for classification, ``p(<class>)`` per class.

        A binary prediction is the positive class when its probability reaches the stored
        threshold (0.5 unless the Evaluate step chose another).
        """
        out = self.predict_outputs(df)
        if self.task == REGRESSION:
            frame = pd.DataFrame({"prediction": out}, index=df.index)
            if self.run.interval is not None:  # where 90 % of the validation rows' actual values fell
                frame["lower (90 %)"] = out + self.run.interval[0]
                frame["upper (90 %)"] = out + self.run.interval[1]
            return frame
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


def _unsafe_name(name: str) -> bool:
    """A name that would point outside a folder it were extracted into (or is no plain name)."""
    parts = name.replace("\\", "/").split("/")
    return (name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts
            or "\x00" in name or len(parts) > 1)


def _check_entries(infos: list[zipfile.ZipInfo], path: Path) -> None:
    """Refuse a crafted archive from its directory alone, before any member is read."""
    allowed = {MANIFEST, *KNOWN_MEMBERS}
    if len(infos) > 2 * len(allowed):
        raise _refuse(tr("The model file holds {count:,} members; a model file has {allowed}. "
                         "It is not one of ours.", count=len(infos), allowed=len(allowed)), path,
                      tr("Use the file as saved by mfg_desktop."))
    names = [i.filename for i in infos]
    unsafe = [n for n in names if _unsafe_name(n)]
    if unsafe:
        raise _refuse(tr("The model file holds a member with an unsafe name ({name}; the members "
                         "of a model file are plain names, never paths); it is refused and nothing was extracted.",
                         name=repr(unsafe[0])), path, tr("Use the file as saved by mfg_desktop."))
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _refuse(tr("The model file holds the member {name} twice; it has been altered.", name=twice[0]), path,
                      tr("Use the file as saved by mfg_desktop."))
    for info in infos:
        kind = (info.external_attr >> 16) & _S_IFMT
        if kind not in (0, _S_IFREG):
            what = {_S_IFLNK: tr("a symbolic link"), _S_IFDIR: tr("a folder")}.get(kind, tr("not a plain file"))
            raise _refuse(tr("The model file's member {name} is {what}; it is refused.", name=info.filename,
                             what=what), path, tr("Use the file as saved by mfg_desktop."))
        if info.flag_bits & 0x1:
            raise _refuse(tr("The model file's member {name} is encrypted; it is not one of ours.",
                             name=info.filename), path)
        limit = (MAX_WEIGHTS_BYTES if info.filename == WEIGHTS else
                 MAX_JSON_BYTES if info.filename.endswith(".json") else MAX_MEMBER_BYTES)
        if info.file_size > limit:
            raise _refuse(tr("The model file's member {name} declares {size:,} bytes "
                             "(at most {limit:,}); it is not one of ours.", name=info.filename, size=info.file_size,
                             limit=limit), path, tr("Use the file as saved by mfg_desktop."))
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise _refuse(tr("The model file's members declare {total:,} bytes in all (at most {limit:,}); "
                         "it is not one of ours.", total=total, limit=MAX_TOTAL_BYTES), path,
                      tr("Use the file as saved by mfg_desktop."))


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    """The member's bytes, never more than its declared size (zipfile stops there and checks the
    CRC, so a member that inflates beyond what it declares is refused, not read to the end)."""
    with zf.open(info) as fh:
        data = fh.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise _refuse(tr("The model file's member {name} is not the size it declares; it has been "
                         "altered.", name=info.filename), path, tr("Use the file as saved by mfg_desktop."))
    return data


def _read_members(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    if not path.is_file():
        raise _refuse(tr("The model file does not exist."), path, tr("Check the path."))
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not zipfile.is_zipfile(path):
        if head == b"PK\x03\x04":
            raise _refuse(tr("The model file is truncated or damaged."), path,
                          tr("Copy it again from where it was saved."))
        raise _refuse(tr("This is not an mfg_desktop model file."), path,
                      tr("Open a file saved by mfg_desktop (.mfgmodel)."))
    try:
        with zipfile.ZipFile(path) as zf:
            entries = zf.infolist()
            _check_entries(entries, path)
            infos = {i.filename: i for i in entries}
            if MANIFEST not in infos:
                raise _refuse(tr("This is not an mfg_desktop model file (it has no manifest)."), path,
                              tr("Open a file saved by mfg_desktop (.mfgmodel)."))
            manifest = _parse_json(_read_member(zf, infos[MANIFEST], path), MANIFEST, path)
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
                raise _refuse(tr("This is not an mfg_desktop model file (it has another format)."), path,
                              tr("Open a file saved by mfg_desktop (.mfgmodel)."))
            version = manifest.get("format_version")
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise _refuse(tr("The model file's format version is unreadable."), path)
            if version > FORMAT_VERSION:
                raise _refuse(
                    tr("The model file was saved in format version {version} by mfg_desktop "
                       "{app_version}; this version ({this_version}) reads up to {readable}.", version=version,
                       app_version=manifest.get('app_version', '?'), this_version=__version__,
                       readable=FORMAT_VERSION),
                    path, tr("Update mfg_desktop to open it."))
            listed = manifest.get("members")
            if not isinstance(listed, dict) or not all(isinstance(d, str) for d in listed.values()):
                raise _refuse(tr("The model file's manifest lists no members."), path)
            # Only the members this version knows: a name listed in the manifest is no more welcome.
            extra = sorted((set(infos) | set(listed)) - set(KNOWN_MEMBERS) - {MANIFEST})
            required = set(REQUIRED_MEMBERS) | (set(NETWORK_MEMBERS) if version == 1 else set())
            missing = sorted(required - set(infos))
            if version >= 2 and not (set(NETWORK_MEMBERS) <= set(infos) or TREES_MEMBER in infos):
                missing.append(tr("{network} or {trees}", network=" + ".join(NETWORK_MEMBERS), trees=TREES_MEMBER))
            if extra or missing:
                what = "; ".join(([tr("unexpected member(s) {names}", names=", ".join(extra))] if extra else [])
                                 + ([tr("missing {names}", names=", ".join(missing))] if missing else []))
                raise _refuse(tr("The model file has been altered ({what}).", what=what), path,
                              tr("Use the file as saved by mfg_desktop."))
            members: dict[str, bytes] = {}
            for name in (n for n in KNOWN_MEMBERS if n in infos):
                if name not in listed:
                    raise _refuse(tr("The model file has been altered ({name} is not in its manifest).", name=name),
                                  path)
                data = _read_member(zf, infos[name], path)
                if _sha256(data) != listed[name]:
                    raise _refuse(tr("The model file has been altered ({name} does not match its checksum).",
                                     name=name), path, tr("Use the file as saved by mfg_desktop."))
                members[name] = data
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
            NotImplementedError, RuntimeError) as exc:
        # RuntimeError/NotImplementedError: zipfile's words for encrypted or unknown compression
        raise _refuse(tr("The model file is truncated or damaged ({reason}).", reason=exc), path,
                      tr("Copy it again from where it was saved.")) from exc
    return manifest, members


def _parse_json(data: bytes, name: str, path: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(tr("The model file's {name} is not valid JSON.", name=name), path) from exc
    except RecursionError:
        # json nests one Python call per level: a crafted file of 100,000 "[" ends here.
        raise _refuse(tr("The model file's {name} is nested too deeply to be ours; it is refused.", name=name), path,
                      tr("Use the file as saved by mfg_desktop.")) from None


def _load_npz(data: bytes, name: str, path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # allow_pickle=False makes np.load refuse object arrays (a pickle) instead of running them.
        raise _refuse(tr("The model file's {name} holds data that is not plain numbers; it is refused.", name=name),
                      path, tr("Use a file saved by mfg_desktop.")) from exc


def load_model_file(path: str | Path) -> LoadedModel:
    """Open a model file, check it completely, rebuild the network and load its weights."""
    path = Path(path)
    manifest, members = _read_members(path)
    net = _parse_json(members["network.json"], "network.json", path) if "network.json" in members else None
    state = _parse_json(members["recipe.json"], "recipe.json", path)
    run_info = _parse_json(members["run.json"], "run.json", path)
    arrays = _load_npz(members["recipe.npz"], "recipe.npz", path)
    split_rows = _load_npz(members["split.npz"], "split.npz", path)
    bad_arrays = [k for k, a in arrays.items() if a.dtype.kind not in "fiub"]
    if bad_arrays or any(a.dtype.kind not in "iu" for a in split_rows.values()):
        raise _refuse(tr("The model file's arrays are not plain numbers; it is refused."), path)
    try:
        if not isinstance(state, dict):
            raise TypeError(tr("{name} is not an object", name="recipe.json"))
        fitted = FittedRecipe.from_state({**state, "arrays": arrays})
        task = fitted.task
        model = None
        if net is not None:
            spec = NetworkSpec.from_dict(net["spec"])
            n_features, n_classes = int(net["n_features"]), int(net["n_classes"])
            if n_features != fitted.n_features or str(net["task"]) != task:
                raise ValueError(tr("the network does not match the recipe"))
            n_outputs = max(n_classes, 2) if task != REGRESSION else 1
            # Sizes first: a crafted spec asking for a billion units is refused before Keras allocates.
            n_params = check_network_size(spec, n_features, task, n_outputs)
            weights = members[WEIGHTS]
            if not weights.startswith(HDF5_SIGNATURE):
                raise _refuse(tr("The model file's weights are not HDF5 arrays; it is refused."), path,
                              tr("Use a file saved by mfg_desktop."))
            if len(weights) > 4 * n_params * 2 + (1 << 20):  # float32, with ample room for HDF5's own
                raise _refuse(tr("The model file's weights ({size:,} bytes) are far larger than its network "
                                 "of {parameters:,} parameters; it has been altered.", size=len(weights),
                                 parameters=n_params), path, tr("Use the file as saved by mfg_desktop."))
            if spec.ensemble_size == 1:
                # NumPy inference from the stored arrays; Keras (TensorFlow) loads only if something else
                # is asked of the model. Every array's shape is checked against the spec as it is read.
                try:
                    model = SavedNetwork(spec, n_features, task, n_classes, seed=int(net.get("seed", 0)),
                                         weights_h5=weights)
                except WeightsMismatch as exc:
                    raise _refuse(tr("The model file's weights do not fit its network ({reason}); "
                                     "it has been altered.", reason=str(exc)[:300]), path,
                                  tr("Use the file as saved by mfg_desktop.")) from exc
            else:  # the ensemble's layers have no NumPy twin: Keras reads them
                model = _keras_network(spec, n_features, task, n_outputs, int(net.get("seed", 0)), weights, path)
        trees = None
        if TREES_MEMBER in members:
            from mfg_desktop.core.trees import trees_from_text

            # checked and refused (ModelFileError) before LightGBM parses anything
            trees = trees_from_text(members[TREES_MEMBER], task, max(fitted.label_mapping.n_classes, 2),
                                    fitted.n_features, file=path)
        run = TrainingRun.from_dict(run_info, fitted, split_rows, model=model, trees=trees)
        needed = {"network": (model,), "trees": (trees,), "blend": (model, trees)}.get(run.chosen, (None,))
        if any(part is None for part in needed):
            raise ValueError(tr("the chosen model ({model}) is not in the file", model=run.chosen))
        if run.history_spec:  # checked now, not at the first scoring
            from mfg_desktop.core.history import HistorySpec

            HistorySpec.from_dict(run.history_spec)
    except ModelFileError:
        raise
    except MfgError as exc:
        raise _refuse(tr("The model file's contents are inconsistent ({reason}).", reason=exc.message), path) from exc
    except Exception as exc:  # any other inconsistency in the stored values: refuse, never crash
        reason = f"{type(exc).__name__}: {exc}"  # the library's own words, as they came
        raise _refuse(tr("The model file's contents are inconsistent ({reason}).", reason=reason), path,
                      tr("Use a file saved by mfg_desktop.")) from exc
    stored = None
    if EVALUATION in members:
        from mfg_desktop.core.evaluate import StoredEvaluation

        try:
            summary = _parse_json(members[EVALUATION], EVALUATION, path)
            stored = StoredEvaluation.from_dict(summary)
            if stored.task != run.task or [str(c) for c in stored.classes] != [str(c) for c in run.classes]:
                raise ValueError(tr("it belongs to another task or other classes than the model"))
        except (ValueError, TypeError, AttributeError) as exc:
            raise _refuse(tr("The model file's {name} is inconsistent ({reason}).", name=EVALUATION, reason=exc), path,
                          tr("Use a file saved by mfg_desktop.")) from exc
        run.test_evaluation = summary
    return LoadedModel(run=run, manifest=manifest, path=path,
                       info={"network": net, "metrics": run.metrics}, stored_evaluation=stored)


def _keras_network(spec: NetworkSpec, n_features: int, task: str, n_outputs: int, seed: int, weights: bytes,
                   path: Path) -> Any:
    """The Keras model with the stored weights, refused when they do not fit it exactly."""
    model = build_model(spec, n_features, task, n_outputs, seed=seed, compile=False)
    with scratch_dir() as tmp:
        weights_path = os.path.join(tmp, WEIGHTS)
        Path(weights_path).write_bytes(weights)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                model.load_weights(weights_path)
        except Exception as exc:  # Keras' words for a shape or layer mismatch vary by version
            reason = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise _refuse(tr("The model file's weights do not fit its network ({reason}); it has been altered.",
                             reason=reason), path, tr("Use the file as saved by mfg_desktop.")) from exc
    # Keras only warns when a layer's weights are missing, and leaves them random: refuse.
    mismatch = [w for w in caught if issubclass(w.category, UserWarning)]
    if mismatch:
        raise _refuse(tr("The model file's weights do not fit its network ({reason}); it has been altered.",
                         reason=str(mismatch[0].message)[:300]), path, tr("Use the file as saved by mfg_desktop."))
    return model
