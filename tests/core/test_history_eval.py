"""Per-entity evaluation of history models: numbers against a hand computation, and a C-MAPSS model end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.history_eval import (
    ERROR_LAST,
    FALSE_ALARMS,
    FIRST_ALARM,
    LEAD,
    MISSED,
    HistoryEvaluation,
    per_entity,
)

CMAPSS = Path(__file__).resolve().parents[1] / "data" / "cmapss_fd001_6engines.txt"


def test_regression_numbers_match_a_hand_computation():
    # engine 7: three rows given out of order; engine 2: two rows. Errors (predicted - true):
    #   engine 7 by cycle: cycle 1 -> +2, cycle 2 -> -1, cycle 3 -> +4 (its last row)
    #   engine 2 by cycle: cycle 5 -> 0, cycle 6 -> -3 (its last row)
    entity = [7, 2, 7, 2, 7]
    order = [3, 5, 1, 6, 2]
    true = np.array([0.0, 1.0, 2.0, 0.0, 1.0])
    predicted = np.array([4.0, 1.0, 4.0, -3.0, 0.0])
    metrics, table, curves = per_entity(entity, order, true, predicted, "regression")
    assert list(table["entity"]) == ["7", "2"]  # in the order they first appear
    assert list(table["rows"]) == [3, 2] and list(table["last_order"]) == [3, 6]
    assert list(table[ERROR_LAST]) == [4.0, -3.0]
    assert metrics["last_rmse"] == pytest.approx(math.sqrt((16 + 9) / 2))  # 3.5355
    assert metrics["last_mae"] == pytest.approx(3.5)
    assert metrics["all_rmse"] == pytest.approx(math.sqrt((4 + 1 + 16 + 0 + 9) / 5))
    assert metrics["all_mae"] == pytest.approx((2 + 1 + 4 + 0 + 3) / 5)
    assert table["rmse"].tolist() == pytest.approx([math.sqrt(21 / 3), math.sqrt(9 / 2)])
    assert table["mae"].tolist() == pytest.approx([7 / 3, 1.5])
    # the curves are along the order axis, sorted
    assert curves["7"].order.tolist() == [1, 2, 3] and curves["7"].true.tolist() == [2, 1, 0]
    assert curves["7"].predicted.tolist() == [4, 0, 4]


def test_fails_within_per_entity_alarm_lead_and_misses():
    # threshold 0.5. Machine a: first alarm at cycle 1 (p 0.7), ends positive at cycle 5 -> lead 4; false
    # alarms at cycles 1 and 3 (true 0). Machine b: never alarmed, its last two rows positive -> two missed.
    entity = ["a"] * 5 + ["b"] * 3
    order = [1, 2, 3, 4, 5, 10, 20, 30]
    y = np.array([0, 0, 0, 1, 1, 0, 1, 1])
    p = np.array([0.7, 0.2, 0.6, 0.9, 0.8, 0.1, 0.3, 0.4])
    proba = np.c_[1 - p, p]
    metrics, table, curves = per_entity(entity, order, y, proba, "binary", threshold=0.5, classes=["ok", "fail"])
    assert curves["b"].order.tolist() == [10, 20, 30] and curves["b"].predicted.tolist() == [0.1, 0.3, 0.4]
    assert curves["b"].true.tolist() == [0, 1, 1]
    a, b = table.iloc[0], table.iloc[1]
    assert a[FIRST_ALARM] == 1 and a[LEAD] == 4 and a[FALSE_ALARMS] == 2 and a[MISSED] == 0
    assert math.isnan(b[FIRST_ALARM]) and b[MISSED] == 2 and b[FALSE_ALARMS] == 0
    assert list(table["true_last"]) == ["fail", "fail"] and list(table["predicted_last"]) == ["fail", "ok"]
    assert table["p_last"].tolist() == pytest.approx([0.8, 0.4])
    assert table["accuracy"].tolist() == pytest.approx([3 / 5, 1 / 3])
    assert metrics["last_accuracy"] == 0.5 and metrics["entities_alarmed"] == 1
    assert metrics["entities_ending_positive"] == 2 and metrics["mean_lead"] == 4


def _train_cmapss(tmp_path, label: str = "rul"):
    from mfg_desktop.core.history import HistorySpec, prepare_training
    from mfg_desktop.core.ingest import load_files
    from mfg_desktop.core.network import preset
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import train_run

    raw = load_files([CMAPSS]).frame
    spec = HistorySpec(entity="col_1", order="col_2", label=label, rul_cap=125.0 if label == "rul" else None,
                       fails_within=30.0 if label == "fails_within" else None, sizes=(5, 20))
    training = prepare_training(raw, spec)
    recipe = propose_recipe(training.frame, training.target, exclude=training.not_inputs)
    net = preset("fast")
    net.epochs = 3
    run = train_run(training.frame, recipe, SplitSpec(method="group", column="col_1", train=0.5, valid=0.17,
                                                      test=0.33, seed=1),
                    net, seed=0, model_choice="network", data_files=[CMAPSS], history_spec=spec.to_dict())
    return raw, training, run


def test_cmapss_rul_model_per_entity_from_run_and_from_its_file(tmp_path):
    from mfg_desktop.core.bundle import load_model_file, save_model_file
    from mfg_desktop.core.evaluate import evaluate_model_file, evaluate_run

    raw, training, run = _train_cmapss(tmp_path)
    ev = evaluate_run(run, training.frame, importance=False)
    hist = ev.history
    assert hist is not None and hist.regression and hist.entity_column == "col_1"
    frame = training.frame.iloc[run.split_test]
    engines = frame["col_1"].unique()
    assert sorted(map(int, hist.entity_ids())) == sorted(int(e) for e in engines) and len(engines) >= 2
    # the last row of each held-out engine is its last cycle: true RUL 0; RMSE by hand from the outputs
    pred = pd.Series(ev.outputs, index=frame.index)
    last = frame.groupby("col_1")["col_2"].idxmax()
    assert np.allclose(training.frame.loc[last, "RUL"], 0)
    errors = pred[last].to_numpy() - 0.0
    assert hist.metrics["last_rmse"] == pytest.approx(math.sqrt(np.mean(errors ** 2)), rel=1e-6)
    assert hist.metrics["all_rmse"] == pytest.approx(ev.metrics["rmse"], rel=1e-6)
    assert hist.metrics["all_mae"] == pytest.approx(ev.metrics["mae"], rel=1e-6)
    first = hist.entity_ids()[0]
    assert len(hist.curves[first].order) == int((frame["col_1"].astype(str) == first).sum())
    assert 1 <= len(hist.chart_entities()) <= 4

    # the model file carries the per-entity numbers (the report reads them without data) ...
    assert run.test_evaluation["history"]["metrics"]["last_rmse"] == pytest.approx(hist.metrics["last_rmse"])
    path = save_model_file(run, tmp_path / "rul.mfgmodel")
    loaded = load_model_file(path)
    stored = loaded.stored_evaluation
    assert stored.history.metrics["last_rmse"] == pytest.approx(hist.metrics["last_rmse"])
    assert stored.history.curves and len(stored.history.entities) == len(engines)
    # ... and evaluating the file on the training data finds the same held-out engines
    again = evaluate_model_file(loaded, raw, data_files=[CMAPSS], importance=False)
    assert again.history.metrics["last_rmse"] == pytest.approx(hist.metrics["last_rmse"], rel=1e-4)
    json.dumps(again.to_dict(), allow_nan=False)  # JSON-able: the CLI prints it


def test_cli_evaluate_prints_the_last_row_rmse(tmp_path, capsys):
    from mfg_desktop import cli
    from mfg_desktop.core.bundle import save_model_file

    _, _, run = _train_cmapss(tmp_path)
    path = save_model_file(run, tmp_path / "rul.mfgmodel")
    capsys.readouterr()
    assert cli.main(["evaluate", str(path), str(CMAPSS)]) == 0
    out = capsys.readouterr().out
    m = run.test_evaluation["history"]["metrics"]
    assert (f"RMSE {m['last_rmse']:.2f}, MAE {m['last_mae']:.2f} at each entity's last row; "
            f"RMSE {m['all_rmse']:.2f}, MAE {m['all_mae']:.2f} over all rows.") in out


def test_fails_within_model_gets_the_classification_view_and_per_entity(tmp_path):
    from mfg_desktop.core.evaluate import evaluate_run

    _, training, run = _train_cmapss(tmp_path, label="fails_within")
    ev = evaluate_run(run, training.frame, importance=False, baselines=False)
    assert ev.task == "binary" and ev.confusion is not None and "roc_auc" in ev.metrics
    hist = ev.history
    assert hist.metrics["entities_ending_positive"] == hist.metrics["entities"]  # run to failure: all end positive
    assert {FIRST_ALARM, LEAD, FALSE_ALARMS, MISSED} <= set(hist.entities.columns)
    assert "ending in 1" in hist.headline()


@pytest.mark.parametrize("broken", [
    {"task": "regression", "columns": ["entity", "rm -rf"], "entities": [], "metrics": {}},
    {"task": "regression", "columns": ["entity", "rows"], "entities": [["a"]], "metrics": {}},
    {"task": "regression", "columns": ["entity"], "entities": [], "metrics": {"x": "1"}},
    {"task": "regression", "columns": ["entity"], "entities": [], "metrics": {},
     "curves": [{"entity": "a", "order": [1, 2], "true": [1], "predicted": [1, 2]}]},
    {"task": "cluster"},
])
def test_a_malformed_stored_table_is_refused(broken):
    with pytest.raises(ValueError):
        HistoryEvaluation.from_dict(broken)


def test_headline_in_chinese_keeps_the_numbers(monkeypatch):
    from mfg_desktop.core import i18n
    from mfg_desktop.core.history_eval import HistoryEvaluation

    metrics, table, curves = per_entity([1, 1, 2], [1, 2, 1], np.array([1.0, 0.0, 0.0]), np.array([1.5, 0.5, 2.0]),
                                        "regression")
    hist = HistoryEvaluation(task="regression", label="rul", entity_column="unit", order_column="cycle",
                             metrics=metrics, entities=table, curves=curves)
    english = hist.headline()
    monkeypatch.setenv("MFG_LANG", "zh_CN")  # the tests' MFG_LANG=en would win over a choice
    i18n.set_language("zh_CN")
    try:
        chinese = hist.headline()
    finally:
        monkeypatch.setenv("MFG_LANG", "en")
        i18n.set_language("en")
    assert chinese != english and "按实体" in chinese
    assert f"RMSE {metrics['last_rmse']:.2f}" in chinese and f"MAE {metrics['all_mae']:.2f}" in chinese


def test_entity_summary_trend_and_risk_ranking():
    from mfg_desktop.core.history import HistorySpec
    from mfg_desktop.core.history_eval import rank_by_risk
    from mfg_desktop.core.score import entity_summary

    frame = pd.DataFrame({"unit": [1, 1, 1, 2, 2, 3], "cycle": [1, 2, 4, 1, 2, 1]})
    spec = HistorySpec(entity="unit", order="cycle", sizes=(5,))
    # unit 1: 10, 8, 4 at cycles 1, 2, 4 -> least-squares slope -2 per cycle; unit 2 flat; unit 3 one row
    predictions = pd.DataFrame({"prediction": [10.0, 8.0, 4.0, 5.0, 5.0, 30.0]})
    summary = entity_summary(frame, predictions, spec, np.array([0, 0, 0, 0, 0, 1], bool), "prediction")
    assert summary["trend"].tolist()[:2] == pytest.approx([-2.0, 0.0]) and math.isnan(summary["trend"].iloc[2])
    ranked, how = rank_by_risk(summary, "rul", "regression")
    assert ranked["unit"].tolist() == [1, 2, 3] and "lowest remaining life" in how  # 4 < 5 < 30
    classes = pd.DataFrame({"prediction": ["a", "b", "a", "c", "c", "a"]})  # several classes: no trend
    assert entity_summary(frame, classes, spec, np.zeros(6, bool), "prediction")["trend"].isna().all()
    binary = summary.assign(**{"latest p(fail)": [0.2, 0.9, 0.5]})
    assert rank_by_risk(binary, "fails_within", "binary")[0]["unit"].tolist() == [2, 3, 1]
    assert "not known to mean risk" in rank_by_risk(summary, "none", "regression")[1]
