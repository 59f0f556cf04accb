"""mfg_desktop: an offline machine-learning workbench for factory engineers."""

__version__ = "0.1.0"
