"""Qt-free domain layer: ingest, profile, recipe, training, evaluation, scoring, reports.

Nothing in this package may import PySide6, shiboken6 or pyqtgraph (enforced by a test);
TensorFlow/Keras are imported lazily inside functions.
"""
