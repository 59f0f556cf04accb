"""--search on this PC: N networks one after another, the best on the validation rows, stored in the file."""

from __future__ import annotations

import pandas as pd
import pytest

from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.errors import Cancelled, TrainingError
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.search import candidate_specs, search_run
from mfg_desktop.core.split import SplitSpec

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]


@pytest.fixture(scope="module")
def frame(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:700].reset_index(drop=True)


def test_candidates_start_with_the_base_network_and_are_repeatable():
    base = preset("fast")
    first = candidate_specs(base, 6, seed=3)
    assert [c for c, _ in first] == [c for c, _ in candidate_specs(base, 6, seed=3)]
    assert first[0][1] == base and len(first) == 6
    assert len({repr(c) for c, _ in first}) == 6  # no network tried twice
    assert {c["embedding"] for c, _ in candidate_specs(base, 12, seed=3)} > {8}  # embeddings vary too
    with pytest.raises(TrainingError):
        candidate_specs(base, 0)


def test_sequential_search_keeps_the_best_on_validation_and_stores_the_trials(frame, tmp_path):
    recipe = propose_recipe(frame, "Machine_failure", exclude=LEAKS)
    seen = []
    run = search_run(frame, recipe, SplitSpec(seed=1), preset("fast").with_changes(epochs=2), n_trials=3, seed=1,
                     on_trial=seen.append)
    assert [t.number for t in seen] == [1, 2, 3] and all(t.status == "finished" for t in seen)
    best = max(seen, key=lambda t: t.score)
    assert best.best and sum(t.best for t in seen) == 1
    assert run.search[best.number - 1]["best"] and run.network.hidden == best.config["hidden"]
    # the score is the validation PR-AUC at the kept epoch, the number early stopping follows
    assert best.score == pytest.approx(run.history["val_pr_auc"][run.best_epoch - 1])
    loaded = load_model_file(save_model_file(run, tmp_path / "searched.mfgmodel"))
    assert loaded.run.search == run.search
    assert [t["score"] for t in loaded.run.search] == [t.score for t in seen]


def test_cancel_before_any_trial_finished_raises(frame):
    recipe = propose_recipe(frame, "Machine_failure", exclude=LEAKS)
    state = JobState()
    state.request_cancel()
    with pytest.raises(Cancelled):
        search_run(frame, recipe, SplitSpec(), preset("fast").with_changes(epochs=2), n_trials=2, state=state)
