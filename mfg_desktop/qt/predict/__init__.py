"""The Predict step: its Qt-free state (:mod:`.state`), jobs, words and widgets, and the panel (:mod:`.panel`).

The package imports nothing itself, so a state module can be imported (and tested) without Qt.
"""
