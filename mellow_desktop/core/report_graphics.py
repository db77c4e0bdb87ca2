"""The pictures of a scan report as inline SVG: the overview spectrogram (an embedded PNG, data URI) with the
detections drawn on it, the score curve with its threshold, and a deployment's activity chart (date × hour
heat map with colour bar, hatched "no data" cells, sunrise and sunset lines); labelled axes.  Numbers in,
markup out: every text that reaches the markup goes through :func:`html.escape`.  No Qt, no imaging library
(PNG by zlib).
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
from mellow_desktop.core.activity import DAY_HOURS, NIGHT_HOURS, ActivityCell, ActivityGrid, GridRow
from mellow_desktop.core.measurements import clock_label
from mellow_desktop.core.sun import SunMark

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


# ------------------------------------------------------------------------------------------ activity chart
#: Light to dark (pale yellow, orange, red, dark red): zero is the palest, clearly not the "no data" grey.
_HEAT = np.array([[255, 255, 204], [254, 217, 118], [253, 141, 60], [227, 26, 28], [128, 0, 38]], dtype=float)
HEAT_LEFT, HEAT_RIGHT, HEAT_TOP = 150, 110, 30
MEASURES = {"rate": "detections per recorded hour", "mean": "mean P(yes)"}


def heat_colour(level: float) -> str:
    """``#rrggbb`` of a level from 0 (palest) to 1 (darkest) on the chart's scale."""
    pos = min(max(level, 0.0), 1.0) * (len(_HEAT) - 1)
    lo = min(int(pos), len(_HEAT) - 2)
    rgb = _HEAT[lo] * (1 - (pos - lo)) + _HEAT[lo + 1] * (pos - lo)
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def _cell_value(cell: ActivityCell, measure: str) -> float | None:
    return cell.rate if measure == "rate" else cell.mean_score


def scale_top(grid: ActivityGrid, measure: str) -> float:
    """The value the colour scale ends at: the largest cell's (at least 1 for rates), 1 for P(yes)."""
    if measure == "mean":
        return 1.0
    values = [v for c in grid.cells.values() if (v := _cell_value(c, measure)) is not None]
    return max([1.0, *values])


def cell_title(cell: ActivityCell) -> str:
    """The hover text of a cell: its hour, counts and effort, or why it has no data."""
    when = f"{cell.day.isoformat()} {cell.hour:02d}:00–{(cell.hour + 1) % 24:02d}:00"
    if not cell.has_data:
        why = "nothing recorded" if cell.recorded_s <= 0 else "recorded but not scanned"
        return f"{when}: no data ({why})"
    mean = f", mean P(yes) {cell.mean_score:.2f}" if cell.mean_score is not None else ""
    return (f"{when}: {cell.detections} detection(s) in {cell.windows} window(s), "
            f"{cell.minutes_recorded:.1f} min recorded, {cell.rate:.2f} per recorded hour{mean}")


def _heat_cells(grid: ActivityGrid, rows: Sequence[GridRow], measure: str, top: float, width: float,
                row_h: float, hatch: str) -> list[str]:
    parts = []
    for r, row in enumerate(rows):
        y = HEAT_TOP + r * row_h
        parts.append(f'<text x="{HEAT_LEFT - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" '
                     f'class="rowlabel">{html.escape(row.label)}</text>')
        for i, key in enumerate(row.keys):
            cell = grid.cell(*key)
            value = _cell_value(cell, measure)
            fill = f"url(#{hatch})" if value is None else heat_colour(value / top)
            kind = "cell nodata" if value is None else "cell"
            parts.append(f'<rect x="{HEAT_LEFT + i * width:.1f}" y="{y:.1f}" width="{width:.1f}" '
                         f'height="{row_h:.1f}" fill="{fill}" class="{kind}" data-day="{key[0].isoformat()}" '
                         f'data-hour="{key[1]}"><title>{html.escape(cell_title(cell))}</title></rect>')
    return parts


def _sun_lines(rows: Sequence[GridRow], suns: Sequence[Sequence[SunMark]], width: float,
               row_h: float) -> list[str]:
    parts = []
    for r, marks in enumerate(suns):
        y = HEAT_TOP + r * row_h
        for mark in marks:
            x = HEAT_LEFT + mark.hours * width
            title = html.escape(f"{mark.kind} {mark.when:%Y-%m-%d %H:%M}")
            line = f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + row_h:.1f}" '
            parts.append(f'{line}class="halo"/>{line}class="{mark.kind}"><title>{title}</title></line>')
    return parts


def _hour_axis(hours: Sequence[int], width: float, y: float) -> list[str]:
    parts = []
    for i, hour in enumerate(hours):
        if hour % 3 == 0:
            x = HEAT_LEFT + i * width
            parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" class="axis"/>'
                         f'<text x="{x:.1f}" y="{y + 18}" text-anchor="middle">{hour:02d}:00</text>')
    centre = HEAT_LEFT + 12 * width
    parts.append(f'<text x="{centre:.1f}" y="{y + 36}" text-anchor="middle" class="label">hour of day</text>')
    return parts


def _colour_bar(measure: str, top: float, y0: float, height: float, bar_id: str) -> list[str]:
    x = PLOT_W - HEAT_RIGHT + 24
    stops = "".join(f'<stop offset="{i / 10:.1f}" stop-color="{heat_colour(1 - i / 10)}"/>'
                    for i in range(11))
    parts = [f'<defs><linearGradient id="{bar_id}" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient>'
             f'</defs><rect x="{x}" y="{y0:.1f}" width="16" height="{height:.1f}" fill="url(#{bar_id})" '
             'class="bar"/>']
    for frac in (0.0, 0.5, 1.0):
        value = top * frac
        ty = y0 + height * (1 - frac)
        label = f"{value:.2f}" if measure == "mean" or top < 10 else f"{value:.0f}"
        parts.append(f'<line x1="{x + 16}" y1="{ty:.1f}" x2="{x + 21}" y2="{ty:.1f}" class="axis"/>'
                     f'<text x="{x + 24}" y="{ty + 4:.1f}">{label}</text>')
    mid = y0 + height / 2
    parts.append(f'<text x="{x - 6}" y="{mid:.1f}" transform="rotate(-90 {x - 6} {mid:.1f})" '
                 f'text-anchor="middle" class="label">{html.escape(MEASURES[measure])}</text>')
    return parts


def _legend(y: float, hatch: str, with_sun: bool) -> list[str]:
    parts = [f'<rect x="{HEAT_LEFT}" y="{y}" width="18" height="12" fill="url(#{hatch})" class="nodata"/>'
             f'<text x="{HEAT_LEFT + 24}" y="{y + 11}">no data (nothing recorded or scanned)</text>']
    if with_sun:
        x = HEAT_LEFT + 300
        parts.append(f'<line x1="{x}" y1="{y + 6}" x2="{x + 22}" y2="{y + 6}" class="sunrise"/>'
                     f'<text x="{x + 28}" y="{y + 11}">sunrise</text>'
                     f'<line x1="{x + 100}" y1="{y + 6}" x2="{x + 122}" y2="{y + 6}" class="sunset"/>'
                     f'<text x="{x + 128}" y="{y + 11}">sunset</text>')
    return parts


def activity_svg(grid: ActivityGrid, *, night: bool = False, measure: str = "rate",
                 suns: Sequence[Sequence[SunMark]] | None = None, chart_id: str = "activity") -> str:
    """The date × hour heat map of ``grid``: one row per date (``night``: per noon-to-noon night), cells
    coloured by ``measure`` ("rate": detections per recorded hour; "mean": mean P(yes)), hatched grey where
    there is no data, a colour bar, sunrise and sunset lines (``suns``: each row's marks), hover titles."""
    rows = grid.rows(night)
    hours = NIGHT_HOURS if night else DAY_HOURS
    width = (PLOT_W - HEAT_LEFT - HEAT_RIGHT) / 24
    row_h = max(6.0, min(24.0, 480.0 / max(1, len(rows))))
    body_h = row_h * len(rows)
    chart = html.escape(chart_id)
    top, hatch = scale_top(grid, measure), f"{chart}-nodata"
    total_h = HEAT_TOP + body_h + 80
    parts = [f'<svg viewBox="0 0 {PLOT_W} {total_h:.0f}" role="img" aria-label="activity chart" '
             f'class="plot activity" id="{chart}"><defs><pattern id="{hatch}" width="6" height="6" '
             'patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" '
             'fill="#e4e4e8"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b4b4bc" stroke-width="2"/>'
             '</pattern></defs>',
             f'<text x="{HEAT_LEFT}" y="18" class="label">{html.escape(MEASURES[measure].capitalize())} by '
             f'{"night (noon to noon)" if night else "date"} and hour</text>']
    parts += _heat_cells(grid, rows, measure, top, width, row_h, hatch)
    parts.append(f'<rect x="{HEAT_LEFT}" y="{HEAT_TOP}" width="{24 * width:.1f}" height="{body_h:.1f}" '
                 'class="frame"/>')
    if suns:
        parts += _sun_lines(rows, suns, width, row_h)
    parts += _hour_axis(hours, width, HEAT_TOP + body_h)
    parts += _colour_bar(measure, top, HEAT_TOP, max(body_h, 60.0), f"{chart}-bar")
    parts += _legend(HEAT_TOP + body_h + 52, hatch, bool(suns))
    parts.append("</svg>")
    return "".join(parts)
