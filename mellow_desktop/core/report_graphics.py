"""The pictures of a scan report as inline SVG: the overview spectrogram (an embedded PNG, data URI) with the
detections drawn on it, and the score curve with its threshold; labelled axes.  Numbers in, markup out: every
text that reaches the markup goes through :func:`html.escape`.  No Qt, no imaging library (PNG by zlib).
"""

from __future__ import annotations

import base64
import html
import struct
import zlib
from collections.abc import Sequence

import numpy as np

from mellow.scan.types import Detection
from mellow.timefmt import format_seconds
from mellow_desktop.core.measurements import clock_label

# Anchor colours of the spectrogram's scale, quiet to loud (dark violet, magenta, orange, pale yellow).
_ANCHORS = np.array([[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104], [254, 159, 109],
                     [252, 253, 191]], dtype=np.float64)
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
PLOT_W, LEFT, RIGHT = 1000, 64, 16


def png_bytes(rgb: np.ndarray) -> bytes:
    """A PNG file of an (height, width, 3) uint8 image."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(
        b"IEND", b"")


def colourise(mel_db: np.ndarray, dynamic_db: float = 70.0) -> np.ndarray:
    """(n_mels, columns) dB -> (n_mels, columns, 3) uint8, low bands at the bottom; the top ``dynamic_db``."""
    finite = mel_db[np.isfinite(mel_db)]
    top = float(finite.max()) if finite.size else 0.0
    level = np.clip((np.nan_to_num(mel_db, nan=top - dynamic_db) - (top - dynamic_db)) / dynamic_db, 0, 1)
    pos = level[::-1] * (len(_ANCHORS) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(_ANCHORS) - 2)
    frac = (pos - lo)[..., None]
    return (_ANCHORS[lo] * (1 - frac) + _ANCHORS[lo + 1] * frac).round().astype(np.uint8)


def time_ticks(duration_s: float, target: int = 8) -> list[float]:
    """Round tick times from 0 to ``duration_s``, about ``target`` of them."""
    step = next((s for s in _TIME_STEPS if duration_s / s <= target), _TIME_STEPS[-1])
    return [float(t) for t in np.arange(0.0, duration_s + 1e-9, step)]


def _x(t: float, duration_s: float) -> float:
    return LEFT + (PLOT_W - LEFT - RIGHT) * (t / max(duration_s, 1e-9))


def _time_axis(duration_s: float, y: float) -> str:
    parts = [f'<line x1="{LEFT}" y1="{y}" x2="{PLOT_W - RIGHT}" y2="{y}" class="axis"/>']
    ticks = time_ticks(duration_s)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for t in ticks:
        x = _x(t, duration_s)  # past a minute the ticks read 0:30, 1:00 (not "30.00 s" beside "1:00.0")
        label = html.escape(clock_label(t, step) if duration_s >= 60 else format_seconds(t))
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" class="axis"/>'
                     f'<text x="{x:.1f}" y="{y + 18}" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{(PLOT_W + LEFT) / 2}" y="{y + 36}" text-anchor="middle" class="label">'
                 'time</text>')
    return "".join(parts)


def _y_label(text: str, height: float) -> str:
    """A vertical axis title, and the end of the SVG."""
    return (f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle" '
            f'class="label">{html.escape(text)}</text></svg>')


def spectrogram_svg(mel_db: np.ndarray, band_edges_hz: np.ndarray, duration_s: float,
                    detections: Sequence[Detection], height: int = 220) -> str:
    """The overview spectrogram with shaded detections, a frequency axis (Hz) and a time axis."""
    png = base64.b64encode(png_bytes(colourise(mel_db))).decode("ascii")
    width = PLOT_W - LEFT - RIGHT
    parts = [f'<svg viewBox="0 0 {PLOT_W} {height + 50}" role="img" aria-label="overview spectrogram" '
             f'class="plot"><image x="{LEFT}" y="0" width="{width}" height="{height}" '
             f'preserveAspectRatio="none" href="data:image/png;base64,{png}"/>']
    for d in detections:
        x0, x1 = _x(d.start_s, duration_s), _x(d.end_s, duration_s)
        span = f"{format_seconds(d.start_s)}–{format_seconds(d.end_s)}"
        title = html.escape(f"{span}: {d.text} ({d.max_score:.2f})")
        parts.append(f'<rect x="{x0:.1f}" y="0" width="{max(x1 - x0, 2):.1f}" height="{height}" class="det">'
                     f'<title>{title}</title></rect>')
    n = mel_db.shape[0]
    for hz in (100, 500, 1000, 2000, 5000, 10000):
        centres = band_edges_hz[1:-1]
        if centres[0] <= hz <= centres[-1]:
            y = height * (1 - (np.interp(hz, centres, np.arange(n)) + 0.5) / n)
            label = f"{hz // 1000} kHz" if hz >= 1000 else f"{hz} Hz"
            parts.append(f'<line x1="{LEFT - 5}" y1="{y:.1f}" x2="{LEFT}" y2="{y:.1f}" class="axis"/>'
                         f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    parts.append(_time_axis(duration_s, height))
    parts.append(_y_label("frequency (mel scale)", height))
    return "".join(parts)


def score_svg(times: np.ndarray, scores: np.ndarray, duration_s: float, threshold: float,
              height: int = 160) -> str:
    """The P(yes) curve over time with the dashed threshold line; axes 0-1 and time."""
    def y(p: float) -> float:
        return 10 + (height - 20) * (1 - p)

    parts = [f'<svg viewBox="0 0 {PLOT_W} {height + 50}" role="img" aria-label="score curve" class="plot">',
             f'<rect x="{LEFT}" y="10" width="{PLOT_W - LEFT - RIGHT}" height="{height - 20}" '
             'class="frame"/>']
    for p in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{LEFT - 5}" y1="{y(p):.1f}" x2="{LEFT}" y2="{y(p):.1f}" class="axis"/>'
                     f'<text x="{LEFT - 8}" y="{y(p) + 4:.1f}" text-anchor="end">{p:.2f}</text>')
    points = " ".join(f"{_x(float(t), duration_s):.1f},{y(float(s)):.1f}" for t, s in zip(times, scores,
                                                                                       strict=True))
    if points:
        parts.append(f'<polyline points="{points}" class="curve"/>')
    parts.append(f'<line x1="{LEFT}" y1="{y(threshold):.1f}" x2="{PLOT_W - RIGHT}" y2="{y(threshold):.1f}" '
                 f'class="threshold"/><text x="{PLOT_W - RIGHT}" y="{y(threshold) - 5:.1f}" '
                 f'text-anchor="end" class="label">threshold {threshold:.2f}</text>')
    parts.append(_time_axis(duration_s, height))
    parts.append(_y_label("P(yes)", height))
    return "".join(parts)
