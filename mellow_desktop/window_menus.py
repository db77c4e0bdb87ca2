"""The main window's menus, keyboard shortcuts and help texts (every action has a tooltip)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from mellow_desktop.spectrogram_view import COLORMAPS, MODES

if TYPE_CHECKING:
    from mellow_desktop.main_window import MainWindow


def _action(
    menu: QMenu,
    text: str,
    slot: Callable[[], object],
    shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
    tip: str = "",
) -> QAction:
    """Add an action with a tooltip (also shown in the status bar) to ``menu``."""
    action = menu.addAction(text)
    action.triggered.connect(slot)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    return action


def build_menus(w: MainWindow) -> tuple[dict[str, QAction], dict[str, QAction]]:
    """File, Clips, View, Model, Settings and Help menus; returns the spectrogram and colormap actions."""
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    _action(
        file_menu,
        "&Open into highlighted clip…",
        lambda: w.focused_panel().choose_file(),
        tip="Open an audio file into the highlighted clip slot (Ctrl+O)",
    )
    _action(file_menu, "Open into Clip &A…", w.panel_a.choose_file, tip="Open an audio file as Clip A")
    _action(file_menu, "Open into Clip &B…", w.panel_b.choose_file, tip="Open an audio file as Clip B")
    _action(
        file_menu,
        "Open &sample clips",
        w.open_samples,
        tip="Load the two synthesized sample clips (bird-like chirps and a hum)",
    )
    file_menu.addSeparator()
    _action(
        file_menu,
        "Export history as &Markdown…",
        lambda: w.history.export_dialog("md"),
        tip="Save the history as a Markdown document",
    )
    _action(
        file_menu,
        "Export history as &JSON…",
        lambda: w.history.export_dialog("json"),
        tip="Save the history as JSON",
    )
    file_menu.addSeparator()
    _action(file_menu, "&Quit", w.close, QKeySequence.StandardKey.Quit, "Close Mellow Desktop")

    clips = bar.addMenu("&Clips")
    _action(
        clips,
        "&Record / stop recording",
        lambda: w.focused_panel().toggle_recording(),
        tip="Record into the highlighted slot (Ctrl+R)",
    )
    _action(
        clips,
        "&Play / pause",
        lambda: w.focused_panel().toggle_playback(),
        tip="Play or pause the highlighted clip (Space)",
    )
    _action(
        clips,
        "&Stop audio",
        lambda: w.focused_panel().stop_audio(),
        tip="Stop playback or recording of the highlighted clip",
    )
    clips.addSeparator()
    _action(clips, "S&wap A ⇄ B", w.swap_clips, "Ctrl+Shift+S", "Exchange Clip A and Clip B")
    _action(clips, "Clear Clip A", w.panel_a.clear, tip="Remove Clip A")
    _action(clips, "Clear Clip B", w.panel_b.clear, tip="Remove Clip B")
    for m in (file_menu, clips):
        m.setToolTipsVisible(True)

    view = bar.addMenu("&View")
    spec = view.addMenu("Spectrogram")
    group = QActionGroup(w)
    mode_actions: dict[str, QAction] = {}
    for key, label in MODES.items():
        act = spec.addAction(label)
        act.setCheckable(True)
        act.triggered.connect(lambda _=False, k=key: w.set_spectrogram_mode(k))
        group.addAction(act)
        mode_actions[key] = act
    cmap_menu = view.addMenu("Colormap")
    cgroup = QActionGroup(w)
    cmap_actions: dict[str, QAction] = {}
    for name in COLORMAPS:
        act = cmap_menu.addAction(name)
        act.setCheckable(True)
        act.triggered.connect(lambda _=False, n=name: w.set_colormap(n))
        cgroup.addAction(act)
        cmap_actions[name] = act
    _action(view, "Fit waveforms", w._fit_all, tip="Show the whole of both clips (or double-click a plot)")

    model_menu = bar.addMenu("&Model")
    w.model.build_menu(model_menu)
    settings_menu = bar.addMenu("&Settings")
    _action(
        settings_menu,
        "&Generation and audio…",
        w.edit_settings,
        QKeySequence.StandardKey.Preferences,
        "Answer length, greedy or sampling, device, audio input and output",
    )
    help_menu = bar.addMenu("&Help")
    _action(help_menu, "&Keyboard shortcuts", lambda: show_shortcuts(w), tip="List the keyboard shortcuts")
    _action(help_menu, "&About Mellow Desktop", lambda: show_about(w), tip="What this program is")
    return mode_actions, cmap_actions


def build_shortcuts(w: MainWindow) -> None:
    """Window-wide keys: Space, Ctrl+O and Ctrl+R act on the highlighted clip; Ctrl+Enter sends; Esc stops."""

    def shortcut(keys: str, slot: Callable[[], object]) -> QShortcut:
        s = QShortcut(QKeySequence(keys), w)
        s.setContext(Qt.ShortcutContext.WindowShortcut)
        s.activated.connect(slot)
        return s

    shortcut("Space", lambda: w.focused_panel().toggle_playback())
    shortcut("Ctrl+O", lambda: w.focused_panel().choose_file())
    shortcut("Ctrl+R", lambda: w.focused_panel().toggle_recording())
    shortcut("Ctrl+Return", w.prompt.send)
    shortcut("Ctrl+Enter", w.prompt.send)
    shortcut("Escape", w.stop_generation)


def show_shortcuts(w: QWidget) -> None:
    """Help ▸ Keyboard shortcuts."""
    QMessageBox.information(
        w,
        "Keyboard shortcuts",
        (
            "<table>"
            "<tr><td><b>Space</b></td><td>play / pause the highlighted clip (not while typing)</td></tr>"
            "<tr><td><b>Ctrl+O</b></td><td>open a file into the highlighted clip</td></tr>"
            "<tr><td><b>Ctrl+R</b></td><td>record into the highlighted clip / stop recording</td></tr>"
            "<tr><td><b>Ctrl+Enter</b></td><td>send the question</td></tr>"
            "<tr><td><b>Esc</b></td><td>stop the answer</td></tr>"
            "<tr><td><b>Ctrl+Shift+S</b></td><td>swap Clip A and Clip B</td></tr>"
            "</table><p>Click a clip panel to highlight it. In the plots: wheel zooms, drag pans, "
            "double-click fits; drag the shaded 10 s window to choose what the model hears.</p>"
        ),
    )


def show_about(w: QWidget) -> None:
    """Help ▸ About."""
    QMessageBox.about(
        w,
        "About Mellow Desktop",
        (
            "<b>Mellow Desktop</b><p>Ask questions about sounds, offline, with the Mellow "
            "audio-language model (Deshmukh et al., 2025). The model listens to 10 s of each clip, "
            "mixed to mono at 32 kHz.</p>"
            "<p>It was trained on AudioCaps and Clotho and does poorly on speech content.</p>"
        ),
    )
