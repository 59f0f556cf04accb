"""The names the Evaluate step shows for metrics and models (translated at call time)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

CONTEXT = "EvaluatePanel"


def metric_labels() -> dict[str, str]:
    tr = QCoreApplication.translate
    return {
        "accuracy": tr(CONTEXT, "Accuracy"),
        "balanced_accuracy": tr(CONTEXT, "Balanced accuracy"),
        "precision": tr(CONTEXT, "Precision"),
        "recall": tr(CONTEXT, "Recall"),
        "f1": tr(CONTEXT, "F1"),
        "precision_macro": tr(CONTEXT, "Precision (macro)"),
        "recall_macro": tr(CONTEXT, "Recall (macro)"),
        "f1_macro": tr(CONTEXT, "F1 (macro)"),
        "roc_auc": tr(CONTEXT, "ROC-AUC"),
        "pr_auc": tr(CONTEXT, "PR-AUC"),
        "mae": tr(CONTEXT, "Mean absolute error"),
        "rmse": tr(CONTEXT, "Root mean squared error"),
        "r2": tr(CONTEXT, "R² (explained variance)"),
    }


def metric_label(key: str) -> str:
    return metric_labels().get(key, key)


def model_labels() -> dict[str, str]:
    tr = QCoreApplication.translate
    return {"network": tr(CONTEXT, "Network"), "trees": tr(CONTEXT, "LightGBM trees"),
            "blend": tr(CONTEXT, "Network + LightGBM (averaged)"),
            "HistGradientBoosting": tr(CONTEXT, "Gradient boosting"),
            "trivial": tr(CONTEXT, "Trivial baseline")}
