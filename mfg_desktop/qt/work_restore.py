"""Bring a saved :class:`~mfg_desktop.core.work.Work` back into the window, step by step.

Each step's panel does its own background work when the previous step changes (the Data step
profiles the loaded files and analyses the target, the Prepare step proposes a recipe), so the
restore follows the session's signals: load the files → profile ready: pick the target →
recipe proposed: add the derived columns, then set every column's plan, the split, the class
weights and PCA as the user would on the form → set the training settings. What cannot be
restored (a missing file, a changed fingerprint, a column that is gone) is said in the banner.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMainWindow

from mfg_desktop.core.formula import DerivedColumn

if TYPE_CHECKING:
    from mfg_desktop.core.work import Work


class WorkRestore(QObject):
    """One restore under way; ``done`` once it has finished or stopped."""

    done = Signal()

    def __init__(self, window: QMainWindow, work: Work, name: str) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.work = work
        self.name = name
        self.warnings: list[str] = []
        self._connected: list[Any] = []
        self._derived_added = False
        self._history_started = False
        self._paths: list[str] = []

    # -- plumbing -------------------------------------------------------------------------------
    def _wait_for(self, signal: Any, slot: Any) -> None:
        signal.connect(slot)
        self._connected.append((signal, slot))

    def _disconnect(self) -> None:
        for signal, slot in self._connected:
            signal.disconnect(slot)
        self._connected.clear()

    def abandon(self) -> None:
        """Stop following the session (another work is opened, or the data was replaced)."""
        self._disconnect()
        self.done.emit()

    def _finish(self) -> None:
        self._disconnect()
        models = [Path(m.path) for m in self.work.models]
        missing = [p.name for p in models if not p.is_file()]
        if missing:
            self.warnings.append(self.tr("Model file(s) not found: {names}.").format(names=", ".join(missing)))
        text = self.tr("Work restored from {name}.").format(name=self.name)
        present = [p.name for p in models if p.is_file()]
        if present:
            text += " " + self.tr("Its model files: {names} (File › Open model… scores with one).").format(
                names=", ".join(present)
            )
        for ref in self.work.models:
            if ref.in_predict and Path(ref.path).is_file():  # the Predict step scores with it again
                self.window.page("predict").open_model(ref.path)
        if self.warnings:
            self.window.ctx.notify(text + " " + " ".join(self.warnings), "warning")
        else:
            self.window.ctx.notify(text, "info")
        visited = [s for s in self.work.steps_visited if s in ("data", "prepare", "train")]
        self.window.show_step(visited[-1] if visited else "data")
        self.done.emit()

    # -- the steps ------------------------------------------------------------------------------
    def start(self) -> None:
        from mfg_desktop.core.ingest import ReadOptions

        present = [ref.path for ref in self.work.data_files if Path(ref.path).is_file()]
        if not present:
            from mfg_desktop.core.work import check_data_files

            self.warnings = check_data_files(self.work)  # every file missing: nothing to hash
            self.warnings.insert(0, self.tr("None of its data files can be found, so nothing was loaded."))
            self._finish()
            return
        options = ReadOptions(**self.work.read_options) if self.work.read_options else None
        self._paths = [str(Path(p).resolve()) for p in present]
        self._wait_for(self.session.profile_changed, self._profiled)
        self._wait_for(self.session.data_changed, self._data_loaded)
        self.window.load_files(present, options)

    def _data_loaded(self, data: Any) -> None:
        if data is None:
            self.abandon()
            return
        from mfg_desktop.core.work import check_data_files

        # after the load job hashed the files on its worker thread: no hashing on the GUI thread here
        self.warnings = check_data_files(self.work) + self.warnings

    def _profiled(self, profile: Any) -> None:
        if profile is None:
            return
        if [str(Path(f.path).resolve()) for f in self.session.data.files] != self._paths:
            self.abandon()  # the user loaded other data meanwhile: it is theirs to prepare
            return
        self._disconnect()
        target = self.work.target
        if target is None:
            self._finish()
            return
        names = set(self.session.frame.columns)
        absent = [t for t in ([target] if isinstance(target, str) else target) if t not in names]
        if absent:
            self.warnings.append(
                self.tr("The target column(s) {names} are not in the data any more.").format(names=", ".join(absent))
            )
            self._finish()
            return
        self.window.page("prepare")  # built now, so that it proposes a recipe for the target
        self._wait_for(self.session.recipe_changed, self._proposed)
        self.window.data_panel.pick_target(target)

    def _proposed(self, recipe: Any) -> None:
        history = self.session.history
        if recipe is None or recipe.target != (history.target if history is not None else self.session.target):
            return
        saved = self.work.recipe or {}
        prepare = self.window.page("prepare")
        if self.work.history and not self._history_started:
            self._history_started = True  # the history set-up first: its build makes a new frame and recipe
            self._wait_for(prepare.history_view.failed, self._history_failed)
            prepare.history_view.restore(self.work.history)
            return
        if not self._derived_added:
            self._derived_added = True
            wanted = [DerivedColumn.from_dict(d).text for d in saved.get("derived", [])]
            added = [text for text in wanted if prepare.add_derived(text)]
            if len(added) != len(wanted):
                self.warnings.append(self.tr("Some derived columns could not be added again."))
            if added:
                return  # each one re-proposes the recipe; continue when that proposal arrives
        self._disconnect()
        self._apply_recipe(prepare, saved)
        self._apply_training()
        self._finish()

    def _history_failed(self, why: str) -> None:
        """The saved history set-up could not be built again: restore the rest on the loaded rows."""
        self.warnings.append(self.tr("The sensor-history set-up could not be built again: {why}").format(why=why))
        self._proposed(self.session.recipe)

    def _apply_recipe(self, prepare: Any, saved: dict[str, Any]) -> None:
        known = {plan.name for plan in prepare.plans}
        gone = []
        for plan in saved.get("columns", []):
            name = plan.get("name")
            if name not in known:
                gone.append(str(name))
                continue
            if plan.get("role") == "drop":
                prepare.set_used(name, False)
                continue
            prepare.set_used(name, True)
            prepare.set_plan(name, **{k: str(plan[k]) for k in ("role", "impute", "scale", "encode") if k in plan})
        if gone:
            self.warnings.append(self.tr("Columns of the saved recipe not in the data: {names}.").format(
                names=", ".join(gone)))
        if saved.get("positive_class") is not None:  # the outcome to detect, as the user picked it
            self.session.set_positive_class(saved["positive_class"])
        pca = saved.get("pca") or {}
        view = prepare.pca_view
        view.pca_check.setChecked(bool(pca.get("enabled")))
        if pca.get("n_components"):
            view.pca_by_count.setChecked(True)
            view.pca_count.setValue(int(pca["n_components"]))
        elif pca.get("variance"):
            view.pca_share.setValue(float(pca["variance"]))
        split = self.work.split
        if split:
            prepare.set_split(split.get("method", "random"), split.get("column"), split.get("train"),
                              split.get("valid"), split.get("test"))
        if self.work.class_weight is not None and prepare.weights_view.weights_check.isEnabled():
            prepare.weights_view.weights_check.setChecked(bool(self.work.class_weight))

    def _apply_training(self) -> None:
        settings = dict(self.work.training or {})
        if not settings:
            return
        train = self.window.page("train")
        preset = settings.pop("preset", None)
        if preset:
            train.apply_preset(str(preset))
        known = set(train.state.settings.__dataclass_fields__)
        train.set_settings(**{k: v for k, v in settings.items() if k in known})
