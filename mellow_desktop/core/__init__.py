"""The Qt-free core of the desktop app: session model, settings, view analysis, history, presets, audio I/O.

Nothing here imports PySide6, pyqtgraph or :mod:`mellow_desktop.qt` (an import-linter contract checks it).
"""
