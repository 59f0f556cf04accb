"""The evaluation a model file carries: numbers only, thinned curves, every value checked on reading."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from mfg_desktop.core.evaluate import (
    STORED_CURVE_POINTS,
    Evaluation,
    StoredEvaluation,
    classification_metrics,
    confusion,
    decide,
    evaluation_summary,
    make_curves,
)

RUN = SimpleNamespace(data_fingerprint={"frame_sha256": "ab" * 32, "rows": 5000,
                                        "files": [{"name": "line3.csv", "sha256": "cd" * 32}]})


def binary_evaluation(n: int = 3000) -> Evaluation:
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.1).astype(np.int64)
    p = np.clip(0.2 * y + rng.random(n) * 0.8, 0, 1)  # overlapping: many curve points
    outputs = np.column_stack([1 - p, p])
    classes = ["no", "yes"]
    predicted = decide(outputs, "binary", 0.5)
    return Evaluation(task="binary", classes=classes, target="defect", rows=np.arange(n), rows_total=n * 2,
                      source="test", note="test rows", y=y, outputs=outputs, threshold=0.5,
                      metrics=classification_metrics(y, outputs, predicted, 2, "binary"), baselines={},
                      confusion=confusion(y, predicted, classes), curves=make_curves(y, outputs, "binary", classes))


def summary() -> dict:
    # through JSON, as the model file stores it
    return json.loads(json.dumps(evaluation_summary(binary_evaluation(), RUN), allow_nan=False))


def test_round_trip_keeps_the_numbers_and_thins_the_curves():
    ev = binary_evaluation()
    assert len(ev.curves.roc["yes"][0]) > STORED_CURVE_POINTS  # thinning has something to do
    stored = StoredEvaluation.from_dict(summary())
    assert stored.metrics["pr_auc"] == pytest.approx(ev.metrics["pr_auc"])
    assert stored.confusion.counts.tolist() == ev.confusion.counts.tolist()
    fpr, tpr = stored.curves.roc["yes"]
    assert len(tpr) == len(fpr)
    assert len(fpr) <= STORED_CURVE_POINTS and (fpr[0], fpr[-1]) == (0.0, 1.0)
    assert stored.threshold == 0.5 and stored.n_rows == 3000
    assert stored.data_text == f"line3.csv (table fingerprint {'ab' * 6})"
    text = json.dumps(summary())
    assert str(len(ev.y)) in text and "outputs" not in text  # counts, not rows


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(task="poetry"), "unknown task"),
    (lambda d: d["curves"]["roc"]["yes"].update(fpr=[0.0] * 5000, tpr=[0.0] * 5000), "unusable points"),
    (lambda d: d["curves"]["pr"]["yes"]["precision"].__setitem__(0, 7.5), "unusable points"),
    (lambda d: d["confusion"].update(counts=[[1, 2, 3]]), "confusion matrix"),
    (lambda d: d["confusion"].update(counts=[[1.5, 2], [3, 4]]), "confusion matrix"),
    (lambda d: d["metrics"].update(pr_auc="high"), "not a number"),
    (lambda d: d.update(rows_used=-3), "not a count"),
    (lambda d: d.update(classes=list(range(5000))), "classes"),
])
def test_a_crafted_evaluation_is_refused_with_what_is_wrong(change, message):
    d = summary()
    change(d)
    with pytest.raises(ValueError, match=message):
        StoredEvaluation.from_dict(d)
    with pytest.raises(ValueError, match="not an object"):
        StoredEvaluation.from_dict([1, 2])
