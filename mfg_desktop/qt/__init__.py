"""The Qt views: app bootstrap, main window, step panels, table models, plots, worker threads."""
