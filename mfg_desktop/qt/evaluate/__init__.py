"""The Evaluate step: its Qt-free state (:mod:`.state`), its views and the panel that binds them (:mod:`.panel`).

The package imports nothing itself, so a state module can be imported (and tested) without Qt.
"""
