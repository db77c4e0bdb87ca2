"""Listen mode's panel: the input and questions, Start/Stop, the live input (level, scrolling waveform,
spectrogram), one score lane per question, the last detections (play, open in Clip A), counts per question
today, the real-time margin and the latest notice.  Widgets only: :mod:`mellow_desktop.qt.listen_flow` runs
the listener and feeds it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mellow.scan.questions import preset_names
from mellow_desktop.core.listen_view import DetectionItem, ListenView
from mellow_desktop.qt.widgets.level_meter import LevelMeter
from mellow_desktop.qt.widgets.live_waveform import LiveWaveform
from mellow_desktop.qt.widgets.score_lanes import ScoreLanes
from mellow_desktop.qt.widgets.spectrogram_view import SpectrogramView

FILE_INPUT = "file:"
"""The input combo's data for "a file played in real time"."""
ONE_PROMPT = ""
"""The questions combo's data for "one prompt"."""
DEFAULT_PROMPT = "is there a bird singing? answer yes or no"


@dataclass(frozen=True)
class ListenChoice:
    """What the user chose: ``device`` (a device name, "" the system default) or ``file`` played ``speed``
    times real time; ``preset`` (a packaged question set) or ``prompt``; ``threshold``; ``keep_stream``: keep
    the whole input, not only the clips around detections."""

    device: str | None
    file: str | None
    speed: float
    preset: str
    prompt: str
    threshold: float
    keep_stream: bool = False


class ListenPanel(QWidget):
    """See the module docstring."""

    start_requested = Signal()
    stop_requested = Signal()
    play_requested = Signal(object)  # DetectionItem
    open_requested = Signal(object)  # DetectionItem

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[DetectionItem] = []
        self._build_controls()
        self._build_views()
        self.set_running(False)

    # ------------------------------------------------------------------------------------------- building
    def _build_controls(self) -> None:
        self.input = QComboBox(self)
        self.input.setToolTip("What to listen to: an input device, or an audio file played in real time")
        self.file_path = QLineEdit(self)
        self.file_path.setPlaceholderText("audio file played in real time")
        self.browse = QPushButton("Browse…", self)
        self.browse.clicked.connect(self._browse)
        self.speed = QDoubleSpinBox(self)
        self.speed.setRange(0.1, 100.0)
        self.speed.setValue(1.0)
        self.speed.setSuffix("×")
        self.speed.setToolTip("Play the file this many times faster than real time (1× for a real-time demo)")
        self.questions = QComboBox(self)
        self.questions.addItem("One prompt", ONE_PROMPT)
        for name in preset_names():
            self.questions.addItem(f"Preset: {name}", name)
        self.questions.setToolTip("Ask one prompt, or a packaged set of questions (one pass per window)")
        self.prompt = QLineEdit(DEFAULT_PROMPT, self)
        self.prompt.setToolTip("A yes/no question (ending 'answer yes or no') gets a score and can detect")
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("P(yes) at which a window is a hit (a preset's own thresholds win)")
        self.keep_stream = QCheckBox("Keep the whole input", self)
        self.keep_stream.setToolTip("Keep everything heard (hourly WAV files in the session folder), not "
                                    "only the clips around detections; History can then re-open any window")
        self.start_button = QPushButton("Start listening", self)
        self.stop_button = QPushButton("Stop", self)
        self.start_button.clicked.connect(self.start_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.input.currentIndexChanged.connect(self._update_enabled)
        self.questions.currentIndexChanged.connect(self._update_enabled)

    def _build_views(self) -> None:
        self.meter = LevelMeter(self)
        self.state_label = QLabel("Not listening", self)
        self.margin_label = QLabel("", self)
        self.margin_label.setToolTip("The real-time margin: how much of each hop answering takes")
        self.notice = QLabel("", self)
        self.notice.setWordWrap(True)
        self.notice.setObjectName("listenNotice")
        self.waveform = LiveWaveform(self)
        self.waveform.label = "Listening"
        self.spectrogram = SpectrogramView(self)
        self.lanes = ScoreLanes(self)
        self.detections = QTreeWidget(self)
        self.detections.setHeaderLabels(["Time", "Question", "P(yes)", "Audio"])
        self.detections.setToolTip("Double-click (or Open in Clip A) to open a detection's kept clip")
        self.detections.setRootIsDecorated(False)
        for column, width in enumerate((80, 110, 60)):
            self.detections.setColumnWidth(column, width)
        self.detections.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.detections.itemDoubleClicked.connect(lambda *_: self._emit_selected(self.open_requested))
        self.detections.itemSelectionChanged.connect(self._update_enabled)
        self.play_button = QPushButton("Play clip", self)
        self.open_button = QPushButton("Open in Clip A", self)
        self.play_button.clicked.connect(lambda: self._emit_selected(self.play_requested))
        self.open_button.clicked.connect(lambda: self._emit_selected(self.open_requested))
        self.counts = QLabel("", self)
        for label in (self.counts, self.notice, self.state_label, self.margin_label):
            label.setTextFormat(Qt.TextFormat.PlainText)  # file and device names are shown as they are
        self._lay_out()

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        for w in (QLabel("Input:", self), self.input, self.file_path, self.browse, self.speed,
                  self.keep_stream):
            top.addWidget(w)
        top.setStretchFactor(self.input, 2)
        top.setStretchFactor(self.file_path, 2)
        second = QHBoxLayout()
        for w in (QLabel("Ask:", self), self.questions, self.prompt, QLabel("Threshold:", self),
                  self.threshold, self.start_button, self.stop_button):
            second.addWidget(w)
        second.setStretchFactor(self.prompt, 3)
        status = QHBoxLayout()
        status.addWidget(self.meter, 1)
        status.addWidget(self.state_label, 2)
        status.addWidget(self.margin_label, 3)
        live = QSplitter(Qt.Orientation.Vertical, self)
        live.addWidget(self.waveform)
        live.addWidget(self.spectrogram)
        lists = QWidget(self)
        box = QVBoxLayout(lists)
        box.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        box.addWidget(QLabel("Last detections", self))
        box.addWidget(self.detections, 1)
        box.addLayout(buttons)
        box.addWidget(self.counts)
        self.views = QSplitter(Qt.Orientation.Horizontal, self)
        self.views.setObjectName("listenSplitter")
        for w, stretch in ((live, 3), (self.lanes, 4), (lists, 3)):
            self.views.addWidget(w)
            self.views.setStretchFactor(self.views.count() - 1, stretch)
        self.views.setSizes([300, 400, 300])  # proportions until the user drags them
        live.setSizes([100, 160])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(top)
        lay.addLayout(second)
        lay.addLayout(status)
        lay.addWidget(self.notice)
        lay.addWidget(self.views, 1)

    # ------------------------------------------------------------------------------------------- choices
    def fill_inputs(self, devices: list[tuple[str, str]], problem: str | None, chosen: str = "") -> None:
        """The input choices: ``devices`` as (label, name), the system default first, then a file played in
        real time; ``problem`` (no PortAudio, no device) is shown as the default's tooltip."""
        self.input.clear()
        if problem is None:
            self.input.addItem("System default input", "")
            for label, name in devices:
                self.input.addItem(label, name)
        self.input.addItem("A file played in real time", FILE_INPUT)
        if problem:
            self.input.setToolTip(f"No input device: {problem}")
        self.input.setCurrentIndex(max(0, self.input.findData(chosen)))

    def choice(self) -> ListenChoice:
        data = self.input.currentData()
        is_file = data == FILE_INPUT
        return ListenChoice(device=None if is_file else str(data or ""),
                            file=self.file_path.text().strip() if is_file else None, speed=self.speed.value(),
                            preset=str(self.questions.currentData() or ""), prompt=self.prompt.text().strip(),
                            threshold=self.threshold.value(),
                            keep_stream=self.keep_stream.isChecked() and not is_file)

    def use_file(self, path: str | Path, speed: float = 1.0) -> None:
        """Choose "a file played in real time": ``path`` at ``speed``."""
        self.input.setCurrentIndex(self.input.findData(FILE_INPUT))
        self.file_path.setText(str(path))
        self.speed.setValue(speed)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Play a file in real time", self.file_path.text(),
                                              "Audio (*.wav *.flac *.ogg *.mp3 *.aiff *.aif);;All files (*)")
        if path:
            self.file_path.setText(path)

    def set_running(self, running: bool) -> None:
        self._running = running
        for w in (self.input, self.file_path, self.browse, self.speed, self.questions, self.prompt,
                  self.threshold, self.keep_stream):
            w.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self._update_enabled()

    def _update_enabled(self) -> None:
        running = getattr(self, "_running", False)
        is_file = self.input.currentData() == FILE_INPUT
        for w in (self.file_path, self.browse, self.speed):
            w.setVisible(is_file)
            w.setEnabled(is_file and not running)
        self.keep_stream.setVisible(not is_file)  # a file played is kept already
        self.prompt.setEnabled(self.questions.currentData() == ONE_PROMPT and not running)
        item = self.selected()
        ready = item is not None and self._ready(item)
        self.play_button.setEnabled(ready)
        self.open_button.setEnabled(ready)

    # ------------------------------------------------------------------------------------------- showing
    def show_detections(self, view: ListenView) -> None:
        """The view's detections, newest first, keeping the selection."""
        chosen = self.selected()
        self._view = view
        self.items = list(view.detections)
        self.detections.clear()
        for item in self.items:
            score = "" if item.score is None else f"{item.score:.2f}"
            clip = f"no audio ({item.withheld or 'not kept'})"
            if item.clip is not None:
                clip = "kept" if view.clip_ready(item) else "writing…"
            row = QTreeWidgetItem([item.time_text, item.question, score, clip])
            row.setToolTip(3, str(item.clip) if item.clip else clip)
            self.detections.addTopLevelItem(row)
            if item == chosen:
                row.setSelected(True)
        self.counts.setText(view.counts_text())
        self._update_enabled()

    def _ready(self, item: DetectionItem) -> bool:
        view = getattr(self, "_view", None)
        return view is not None and view.clip_ready(item)

    def selected(self) -> DetectionItem | None:
        rows = self.detections.selectedItems()
        if not rows:
            return None
        index = self.detections.indexOfTopLevelItem(rows[0])
        return self.items[index] if 0 <= index < len(self.items) else None

    def _emit_selected(self, signal: Signal) -> None:
        item = self.selected()
        if item is not None and self._ready(item):
            signal.emit(item)

    def show_notice(self, text: str) -> None:
        """The latest notice (a device lost, windows skipped, a detection where no tray exists)."""
        self.notice.setText(text)
