"""Files named on the command line (what a double-click in the file manager passes) open in the
right place: data files load as one table, a model file opens in the Predict step."""

from __future__ import annotations

from mfg_desktop.qt.app import open_paths
from mfg_desktop.resources import sample_data_path


def _current_step(window) -> str:
    return window.step_keys()[window.step_list.currentRow()]


def test_a_model_file_opens_in_the_predict_step(main_window, monkeypatch):
    opened = []
    # opening a real model file is the Predict panel's own test; here only where the path goes
    monkeypatch.setattr(main_window.page("predict"), "open_model", opened.append)

    open_paths(main_window, ["/models/old.mfgmodel", "/models/LINE3.MFGMODEL"])

    assert opened == ["/models/LINE3.MFGMODEL"]  # one model at a time: the last one named
    assert _current_step(main_window) == "predict"
    assert main_window.load_job is None  # a model file is never read as data


def test_data_files_load_as_data_beside_a_model(main_window, wait, monkeypatch):
    opened = []
    monkeypatch.setattr(main_window.page("predict"), "open_model", opened.append)
    sample = str(sample_data_path())

    open_paths(main_window, [sample, "/models/line3.mfgmodel"])

    wait.loaded(main_window)
    assert [str(f.path) for f in main_window.session.state.data.files] == [sample]
    assert len(main_window.session.frame) > 1000
    assert opened == ["/models/line3.mfgmodel"]
    assert _current_step(main_window) == "data"  # the finished load shows its data
