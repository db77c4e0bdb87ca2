"""Clip A and Clip B of the main window: which one is highlighted, and what is done to both at once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from mellow_desktop.core.question import ClipRef
from mellow_desktop.core.session import ClipState, clip_ref
from mellow_desktop.core.settings import AppSettings
from mellow_desktop.qt.widgets.clip_panel import ClipPanel, panel_of


class ClipPair:
    """The two clip panels; Space, Ctrl+O and Ctrl+R act on the highlighted one (the last one clicked)."""

    def __init__(self, a: ClipPanel, b: ClipPanel) -> None:
        self.a, self.b = a, b
        self.focused_slot = "A"

    def both(self) -> tuple[ClipPanel, ClipPanel]:
        return (self.a, self.b)

    def panel(self, slot: str) -> ClipPanel:
        return self.a if slot == "A" else self.b

    def focused(self) -> ClipPanel:
        return self.panel(self.focused_slot)

    def focus(self, slot: str) -> None:
        """Highlight clip ``slot`` ("A" or "B")."""
        self.focused_slot = slot
        self.a.set_focused_look(slot == "A")
        self.b.set_focused_look(slot == "B")

    def follow_focus(self, widget: QWidget | None) -> None:
        """Highlight the panel that contains ``widget`` (keyboard focus moved there), if any."""
        p = panel_of(widget)
        if p is not None:
            self.focus(p.slot)

    def states(self) -> tuple[ClipState | None, ClipState | None]:
        return (self.a.state(), self.b.state())

    def refs(self) -> tuple[ClipRef | None, ClipRef | None]:
        """What a question records about the two clips."""
        return (clip_ref(self.a.state()), clip_ref(self.b.state()))

    def loading(self) -> bool:
        return self.a.is_loading() or self.b.is_loading()

    def swap(self) -> None:
        """Exchange Clip A and Clip B (without reading the files again)."""
        a, b = self.states()
        self.a.set_state(b)
        self.b.set_state(a)

    def open_files(self, files: Iterable[str | Path]) -> None:
        """Open up to two files as Clip A and Clip B."""
        for panel, path in zip(self.both(), files, strict=False):
            panel.open_file(path)

    def apply_devices(self, settings: AppSettings) -> None:
        for p in self.both():
            p.input_device = settings.input_device or None
            p.output_device = settings.output_device or None

    def set_recording_unavailable(self, reason: str | None) -> None:
        for p in self.both():
            p.set_recording_unavailable(reason)

    def fit(self) -> None:
        for p in self.both():
            p.waveform.fit()

    def set_view(self, mode: str | None = None, colormap: str | None = None) -> None:
        """Show both spectrograms in ``mode`` and/or ``colormap``."""
        for p in self.both():
            if mode is not None:
                p.spectrogram.set_mode(mode)
            if colormap is not None:
                p.spectrogram.set_colormap(colormap)

    def shutdown(self) -> None:
        for p in self.both():
            p.shutdown()
