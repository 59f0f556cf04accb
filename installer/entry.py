"""Entry point of the frozen app (PyInstaller): the same command line as ``mfg-desktop``."""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    # scikit-learn's joblib may start worker processes; in a frozen app they re-run this executable
    multiprocessing.freeze_support()
    # A windowed Windows build has no console: sys.stdout/stderr are None and any print (Keras,
    # warnings) would raise. Writing into the void is what a windowed app should do instead.
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the app
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the app

    from mfg_desktop.cli import main

    raise SystemExit(main())
