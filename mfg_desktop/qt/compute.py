"""Where training runs: "This PC" (the default) or the plant's Ray cluster, as Settings › Compute keeps it.

The choice lives in the app settings (``settings.ini``, section ``compute``) and nowhere else: never
in a model file, saved work or a report. The token file is kept as a path, never the token. Nothing
here imports Ray: whether the ``cluster`` extra is installed is asked with ``importlib.util.find_spec``
(:func:`mfg_desktop.core.cluster.ray_installed`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication

from mfg_desktop.qt.settings import app_settings

if TYPE_CHECKING:
    from mfg_desktop.core.cluster import ClusterSettings

THIS_PC, CLUSTER = "local", "cluster"
MAX_WORKERS = 256
_KEYS = {"where": "compute/where", "address": "compute/address", "token_file": "compute/token_file",
         "workers": "compute/workers"}


def cluster_available() -> bool:
    """Whether Ray (the ``cluster`` extra) can be imported, without importing it."""
    from mfg_desktop.core.cluster import ray_installed

    return ray_installed()


def not_installed_text() -> str:
    return QCoreApplication.translate("Compute", "Ray is not installed here: pip install 'mfg-desktop[cluster]'")


def workers_tooltip() -> str:
    return QCoreApplication.translate(
        "Compute", "1: the whole training on one cluster worker. More: data-parallel training (Ray Train), each "
        "worker computes the gradients of its share of every batch.")


@dataclass(frozen=True)
class ComputeChoice:
    """Where to train: ``where`` is :data:`THIS_PC` or :data:`CLUSTER`; ``workers`` > 1 asks the cluster
    for data-parallel training over that many workers."""

    where: str = THIS_PC
    address: str = ""
    token_file: str = ""  # "": the token is found as Ray finds it
    workers: int = 1

    @property
    def on_cluster(self) -> bool:
        return self.where == CLUSTER and bool(self.address.strip())

    def with_values(self, **values: Any) -> ComputeChoice:
        return replace(self, **values)

    def cluster_settings(self) -> ClusterSettings:
        from mfg_desktop.core.cluster import ClusterSettings

        return ClusterSettings(address=self.address.strip(), token_file=self.token_file.strip() or None)


def load_compute() -> ComputeChoice:
    """The saved choice; "This PC" whenever the cluster cannot be used (no Ray, no address)."""
    settings = app_settings()
    try:
        workers = int(settings.value(_KEYS["workers"], 1) or 1)
    except (TypeError, ValueError):
        workers = 1
    choice = ComputeChoice(
        where=str(settings.value(_KEYS["where"], THIS_PC) or THIS_PC),
        address=str(settings.value(_KEYS["address"], "") or ""),
        token_file=str(settings.value(_KEYS["token_file"], "") or ""),
        workers=max(1, min(workers, MAX_WORKERS)),
    )
    if choice.where != CLUSTER or not choice.address.strip() or not cluster_available():
        choice = choice.with_values(where=THIS_PC)
    return choice


def save_compute(choice: ComputeChoice) -> None:
    settings = app_settings()
    for name, key in _KEYS.items():
        settings.setValue(key, getattr(choice, name))
    settings.sync()
