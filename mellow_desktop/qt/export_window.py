"""File ▸ Export window as WAV… for the highlighted clip (the samples are written by
:func:`mellow_desktop.core.window_export.export_window`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from mellow.errors import user_message
from mellow.timefmt import format_seconds
from mellow_desktop.core.session import window_text
from mellow_desktop.core.window_export import export_window
from mellow_desktop.qt.widgets.clip_panel import ClipPanel


def export_window_dialog(panel: ClipPanel, notify: Callable[[str], None], target: Path | None = None
                         ) -> Path | None:
    """Ask where (unless ``target``), then write the panel's current 10 s window; None after a message."""
    state = panel.state()
    if state is None:
        notify(f"Open a clip in Clip {panel.slot} first.")
        return None
    start = panel.waveform.window_start()
    if target is None:
        name = f"{state.path.stem} at {format_seconds(start).replace(':', '-')}.wav"
        chosen, _ = QFileDialog.getSaveFileName(panel, "Export window as WAV", str(state.path.parent / name),
                                                "WAV (*.wav)")
        if not chosen:
            return None
        target = Path(chosen)
    try:
        out = export_window(state.path, start, target)
    except Exception as exc:  # every failure becomes one line
        notify(user_message(exc, "exporting the window"))
        return None
    notify(f"Saved the window {window_text(state.info.duration, start)} as {out}")
    return out
