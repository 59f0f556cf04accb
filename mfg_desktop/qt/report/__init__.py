"""The Report step: its Qt-free state (:mod:`.state`) and its view (:mod:`.panel`).

The package imports nothing itself, so a state module can be imported (and tested) without Qt.
"""
