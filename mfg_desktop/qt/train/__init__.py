"""The Train step: its Qt-free state (:mod:`.state`), words, worker jobs and widgets, and the panel (:mod:`.panel`).

The package imports nothing itself, so a state module can be imported (and tested) without Qt.
"""
