"""The one table of the window's actions: menus, keyboard shortcuts, tooltips and Help ▸ Keyboard shortcuts.

Every command the user can give from a menu or a key is one :class:`ActionSpec` in :data:`ACTIONS`;
:data:`MENUS` places them. :func:`build_menus` makes the QActions (shortcuts window-wide, tooltips with the
key appended) from the table and a mapping of command names to callables that the window passes in, so nothing
here knows the window's attributes. :func:`shortcuts_html` renders the help page from the same table, and
:func:`tip` gives widgets (buttons) their tooltip with the same key text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QWidget

from mellow.model_files import KNOWN_MODELS
from mellow_desktop.qt.widgets.spectrogram_view import COLORMAPS, MODES

Key = str | QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    """One command: menu text, tooltip, keys (the first one is shown), and its line on the help page."""

    text: str
    tip: str
    keys: tuple[Key, ...] = ()
    key_text: str = ""  # how the key is written for people, when not QKeySequence's own text
    help: str = ""  # the help page's description (default: the tooltip)


ACTIONS: dict[str, ActionSpec] = {
    "open_focused": ActionSpec(
        "&Open into highlighted clip…", "Open an audio file into the highlighted clip slot", ("Ctrl+O",),
        help="open a file into the highlighted clip",
    ),
    "open_a": ActionSpec("Open into Clip &A…", "Open an audio file as Clip A"),
    "open_b": ActionSpec("Open into Clip &B…", "Open an audio file as Clip B"),
    "open_folder": ActionSpec(
        "Open &folder of recordings…", "List a folder of recordings (an SD card, a deployment) with their "
        "clock times, recorders and gaps", ("Ctrl+Shift+O",), help="open a folder of recordings",
    ),
    "open_samples": ActionSpec(
        "Open &sample clips", "Load the two synthesized sample clips (bird-like chirps and a hum)"
    ),
    "export_md": ActionSpec("Export history as &Markdown…", "Save the history as a Markdown document"),
    "export_json": ActionSpec("Export history as &JSON…", "Save the history as JSON"),
    "export_window": ActionSpec("Export &window as WAV…",
                                "Save the highlighted clip's 10 s analysis window at the file's own rate and "
                                "channels"),
    "quit": ActionSpec("&Quit", "Close Mellow Desktop", (QKeySequence.StandardKey.Quit,)),
    "record": ActionSpec(
        "&Record / stop recording", "Record into the highlighted slot", ("Ctrl+R",),
        help="record into the highlighted clip / stop recording",
    ),
    "play": ActionSpec(
        "&Play / pause", "Play or pause the highlighted clip", ("Space",),
        help="play / pause the highlighted clip (not while typing)",
    ),
    "stop_audio": ActionSpec("&Stop audio", "Stop playback or recording of the highlighted clip"),
    "swap": ActionSpec(
        "S&wap A ⇄ B", "Exchange Clip A and Clip B", ("Ctrl+Shift+S",), help="swap Clip A and Clip B"
    ),
    "clear_a": ActionSpec("Clear Clip A", "Remove Clip A"),
    "clear_b": ActionSpec("Clear Clip B", "Remove Clip B"),
    "fit": ActionSpec("Fit waveforms", "Show the whole of both clips (or double-click a plot)"),
    "scan": ActionSpec(
        "&Scan whole recording…", "Ask one prompt of every window of the highlighted clip's recording",
        ("Ctrl+Shift+F",), help="scan the whole recording of the highlighted clip",
    ),
    "cancel_scan": ActionSpec("&Cancel scan", "Stop the running scan after its current batch"),
    "listen": ActionSpec("&Listen…", "Listen to an input device (or a file played in real time) and ask "
                         "every window; detections keep their audio", ("Ctrl+L",), help="open Listen mode"),
    "window_next": ActionSpec("&Next window", "Move the highlighted clip's analysis window 10 s later",
                              ("PgDown",), key_text="PageDown", help="analysis window one hop later"),
    "window_prev": ActionSpec("&Previous window", "Move the highlighted clip's analysis window 10 s earlier",
                              ("PgUp",), key_text="PageUp", help="analysis window one hop earlier"),
    "download_model": ActionSpec(
        "&Download Mellow v0…",
        "Fetch the chosen checkpoint and the tokenizer (about 0.7 GB) into the app's data folder",
    ),
    "open_checkpoint": ActionSpec(
        "&Open checkpoint…", "Use a Mellow checkpoint file (.ckpt or .safetensors) you already have"
    ),
    "choose_tokenizer": ActionSpec(
        "Choose &tokenizer…", "A folder with tokenizer.json or a SmolLM2 .gguf file"
    ),
    "reload_model": ActionSpec(
        "&Reload model", "Load the model again (for example after changing the device)"
    ),
    "settings": ActionSpec(
        "&Generation and audio…", "Answer length, greedy or sampling, device, audio input and output",
        (QKeySequence.StandardKey.Preferences,),
    ),
    "shortcuts": ActionSpec("&Keyboard shortcuts", "List the keyboard shortcuts"),
    "about": ActionSpec("&About Mellow Desktop", "What this program is"),
    # Keys without a menu entry (the prompt box and its Stop button show them in their tooltips):
    "send": ActionSpec(
        "Send", "Ask Mellow", ("Ctrl+Return", "Ctrl+Enter"), key_text="Ctrl+Enter", help="send the question"
    ),
    "stop_answer": ActionSpec("Stop", "Stop the answer", ("Escape",), key_text="Esc", help="stop the answer"),
}

#: Menu titles and the actions in them (None: a separator; "view:*" are built from the view's choices,
#: "model:known" lists ``mellow.model_files.KNOWN_MODELS``).
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("open_focused", "open_a", "open_b", "open_folder", "open_samples", None, "export_window",
               "export_md", "export_json", None, "quit")),
    ("&Clips", ("record", "play", "stop_audio", None, "swap", "clear_a", "clear_b", None, "window_next",
                "window_prev", None, "scan", "cancel_scan", "listen")),
    ("&View", ("view:spectrogram", "view:colormap", "fit")),
    ("&Model", ("model:known", None, "download_model", "open_checkpoint", "choose_tokenizer", None,
                "reload_model")),
    ("&Settings", ("settings",)),
    ("&Help", ("shortcuts", "about")),
)
#: Actions whose keys work window-wide without a menu entry.
WINDOW_KEYS = ("send", "stop_answer")
HELP_ORDER = ("play", "open_focused", "record", "send", "stop_answer", "swap", "window_next", "window_prev",
              "scan", "listen")
HELP_NOTE = (
    "Click a clip panel to highlight it. In the plots: wheel zooms, drag pans, double-click fits; drag the "
    "shaded 10 s window to choose what the model hears."
)


def key_text(name: str) -> str:
    """How the first key of action ``name`` is written ("Ctrl+O"), or "" when it has none."""
    spec = ACTIONS[name]
    if spec.key_text or not spec.keys:
        return spec.key_text
    return QKeySequence(spec.keys[0]).toString(QKeySequence.SequenceFormat.NativeText)


def tip(name: str, text: str | None = None) -> str:
    """The tooltip of action ``name`` (or ``text``) with its key: "Exchange Clip A and Clip B (Ctrl+Shift+S)".
    """
    keys = key_text(name)
    base = text if text is not None else ACTIONS[name].tip
    return f"{base} ({keys})" if keys else base


def _make(parent: QWidget, name: str, command: Callable[[], object]) -> QAction:
    spec = ACTIONS[name]
    action = QAction(spec.text, parent)
    action.setObjectName(f"action_{name}")
    action.setShortcuts([QKeySequence(k) for k in spec.keys])
    action.setToolTip(tip(name))
    action.setStatusTip(tip(name))
    action.triggered.connect(lambda _checked=False: command())
    return action


def find_action(window: QWidget, name: str) -> QAction:
    """The QAction that :func:`build_menus` made for action ``name`` on ``window`` (for buttons that
    trigger it)."""
    action = window.findChild(QAction, f"action_{name}")
    if action is None:
        raise KeyError(f"no action {name!r} on this window")
    return action


@dataclass
class ViewActions:
    """The checkable View ▸ Spectrogram, View ▸ Colormap and Model ▸ (known model) actions, by name."""

    modes: dict[str, QAction]
    colormaps: dict[str, QAction]
    models: dict[str, QAction] = field(default_factory=dict)


def _choice_menu(menu: QMenu, title: str, choices: Mapping[str, str], pick: Callable[[str], object]
                 ) -> dict[str, QAction]:
    return _choice_items(menu.addMenu(title), choices, pick)


def _choice_items(menu: QMenu, choices: Mapping[str, str], pick: Callable[[str], object]
                  ) -> dict[str, QAction]:
    """One checkable action per choice in ``menu``, exclusive; ``pick(key)`` when one is triggered."""
    group = QActionGroup(menu)
    actions: dict[str, QAction] = {}
    for key, label in choices.items():
        act = menu.addAction(label)
        act.setCheckable(True)
        act.triggered.connect(lambda _=False, k=key: pick(k))
        group.addAction(act)
        actions[key] = act
    return actions


def build_menus(
    window: QMainWindow,
    commands: Mapping[str, Callable[[], object]],
    set_mode: Callable[[str], object],
    set_colormap: Callable[[str], object],
    choose_model: Callable[[str], object] = lambda _name: None,
) -> ViewActions:
    """Menus of :data:`MENUS` and the keys of :data:`WINDOW_KEYS` on ``window``; ``commands`` maps names to
    callables (looked up when triggered). Returns the View and Model menus' checkable actions."""
    view = ViewActions({}, {})
    for title, names in MENUS:
        menu = window.menuBar().addMenu(title)
        menu.setToolTipsVisible(True)
        for name in names:
            if name is None:
                menu.addSeparator()
            elif name == "view:spectrogram":
                view.modes = _choice_menu(menu, "Spectrogram", MODES, set_mode)
            elif name == "view:colormap":
                view.colormaps = _choice_menu(menu, "Colormap", {c: c for c in COLORMAPS}, set_colormap)
            elif name == "model:known":
                view.models = _choice_items(menu, {m: f"Mellow {m}" for m in KNOWN_MODELS}, choose_model)
            else:
                menu.addAction(_make(window, name, commands[name]))
    for name in WINDOW_KEYS:
        window.addAction(_make(window, name, commands[name]))
    return view


def shortcuts_html() -> str:
    """Help ▸ Keyboard shortcuts, generated from :data:`ACTIONS`."""
    rows = "".join(
        f"<tr><td><b>{escape(key_text(n))}</b></td><td>{escape(ACTIONS[n].help or ACTIONS[n].tip)}</td></tr>"
        for n in HELP_ORDER
    )
    return f"<table>{rows}</table><p>{escape(HELP_NOTE)}</p>"


def show_shortcuts(parent: QWidget) -> None:
    """Help ▸ Keyboard shortcuts."""
    QMessageBox.information(parent, "Keyboard shortcuts", shortcuts_html())


def show_about(parent: QWidget) -> None:
    """Help ▸ About."""
    QMessageBox.about(
        parent,
        "About Mellow Desktop",
        (
            "<b>Mellow Desktop</b><p>Ask questions about sounds, offline, with the Mellow "
            "audio-language model (Deshmukh et al., 2025). The model listens to 10 s of each clip, "
            "mixed to mono at 32 kHz.</p>"
            "<p>It was trained on AudioCaps and Clotho and does poorly on speech content.</p>"
        ),
    )
