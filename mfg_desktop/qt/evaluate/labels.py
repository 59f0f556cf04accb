"""The names the Evaluate step shows for metrics and models (translated at call time)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

CONTEXT = "EvaluatePanel"


def metric_labels() -> dict[str, str]:
    translate = QCoreApplication.translate  # this name: the extractor reads translate(context, text)
    return {
        "accuracy": translate(CONTEXT, "Accuracy"),
        "balanced_accuracy": translate(CONTEXT, "Balanced accuracy"),
        "precision": translate(CONTEXT, "Precision"),
        "recall": translate(CONTEXT, "Recall"),
        "f1": translate(CONTEXT, "F1"),
        "precision_macro": translate(CONTEXT, "Precision (macro)"),
        "recall_macro": translate(CONTEXT, "Recall (macro)"),
        "f1_macro": translate(CONTEXT, "F1 (macro)"),
        "roc_auc": translate(CONTEXT, "ROC-AUC"),
        "pr_auc": translate(CONTEXT, "PR-AUC"),
        "mae": translate(CONTEXT, "Mean absolute error"),
        "rmse": translate(CONTEXT, "Root mean squared error"),
        "r2": translate(CONTEXT, "R² (explained variance)"),
    }


def metric_label(key: str) -> str:
    return metric_labels().get(key, key)


def model_labels() -> dict[str, str]:
    translate = QCoreApplication.translate  # this name: the extractor reads translate(context, text)
    return {"network": translate(CONTEXT, "Network"), "trees": translate(CONTEXT, "LightGBM trees"),
            "blend": translate(CONTEXT, "Network + LightGBM (averaged)"),
            "HistGradientBoosting": translate(CONTEXT, "Gradient boosting"),
            "trivial": translate(CONTEXT, "Trivial baseline")}
