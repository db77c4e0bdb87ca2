"""The HTML report of a scan: ONE self-contained file (inline CSS and SVG, the spectrogram as a data URI, no
script, nothing fetched) with the file's facts, the scan's parameters, the model id and checksum, the overview
spectrogram with the detections drawn, the score curve and the results table.

Every text from outside (file names, paths, prompt, answers, model id) goes through :func:`html.escape`, so
an answer or a file name holding markup shows as text and runs nothing.
"""

from __future__ import annotations

import collections
import html
from datetime import datetime, timezone

from mellow.errors import MellowError, one_line
from mellow.model.config import AudioConfig
from mellow.recordings import Recording, iso
from mellow.scan.clock import clock_at
from mellow.timefmt import format_seconds
from mellow_desktop.core.report_graphics import score_svg, spectrogram_svg
from mellow_desktop.core.scan_record import LoadedScan, ScanRecord
from mellow_desktop.core.scan_view import ScanView

REPORT_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1d1d24; background: #fafafa; margin: 24px auto;
       max-width: 1040px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #555; margin: 0 0 16px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border: 1px solid #d6d6de; padding: 4px 8px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #eceef4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.facts th { width: 190px; font-weight: 600; }
tr.hit td { background: #fff1e0; }
svg.plot { width: 100%; height: auto; background: #fff; border: 1px solid #d6d6de; }
svg text { font: 12px system-ui, sans-serif; fill: #333; } svg .label { font-weight: 600; }
svg .axis { stroke: #555; } svg .frame { fill: none; stroke: #d6d6de; }
svg .det { fill: #2fd0ff; fill-opacity: 0.28; stroke: #00a3d9; stroke-width: 1.5; }
svg .curve { fill: none; stroke: #2455c3; stroke-width: 1.6; }
svg .threshold { stroke: #d9480f; stroke-dasharray: 6 4; stroke-width: 1.5; }
.note { color: #666; font-size: 13px; }
svg .cell:hover { stroke: #1d1d24; stroke-width: 1.5; } svg .rowlabel { font-variant-numeric: tabular-nums; }
svg .sunrise { stroke: #e8a400; stroke-width: 2.5; } svg .sunset { stroke: #5a3fc0; stroke-width: 2.5; }
svg .halo { stroke: #fff; stroke-width: 5; stroke-opacity: 0.85; }
table.effort th, table.days th, table.detections th { white-space: nowrap; }
svg .nodata, svg .bar { stroke: #b4b4bc; stroke-width: 0.5; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def fact_rows(pairs: list[tuple[str, str]]) -> str:
    """Table rows of (heading, value) pairs, escaped."""
    return "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)


def _when(t: float | None) -> str:
    if t is None:
        return "—"
    return datetime.fromtimestamp(t, tz=timezone.utc).astimezone().isoformat(timespec="seconds")


def _facts(rec: ScanRecord, overview: object | None) -> list[tuple[str, str]]:
    facts = [("File", rec.file_name), ("Path", rec.file), ("Content hash", rec.file_hash),
             ("Duration", format_seconds(float(rec.duration_s or 0.0)))]
    if overview is not None:
        facts += [("Sample rate", f"{overview.sample_rate} Hz"), ("Channels", str(overview.channels))]
    return facts


def _parameters(rec: ScanRecord, threshold: float, n_done: int) -> list[tuple[str, str]]:
    to = "end of file" if rec.to_s is None else format_seconds(rec.to_s)
    slot2 = {"same": "the same window", "against": f"fixed reference {rec.slot2_file} from "
             f"{format_seconds(rec.slot2_start_s)}", "pair": f"paired recording {rec.slot2_file} "
             f"(offset {rec.slot2_start_s:g} s)"}.get(rec.slot2_mode, rec.slot2_mode)
    asked = [("Prompt", rec.prompt)] if rec.questions is None else [
        (f"Question “{q.name}”", f"{q.prompt} (threshold {rec.threshold_of(q.name):.2f})")
        for q in rec.questions]
    done = (("Windows", f"{n_done} of {rec.n_windows} answered ({rec.status})") if rec.questions is None else
            ("Answers", f"{n_done} of {rec.n_answers} ({rec.n_questions} questions; {rec.status})"))
    return [*asked, ("Range", f"{format_seconds(rec.from_s)} – {to}"),
            ("Hop", f"{rec.hop_s:g} s"), ("Threshold", f"{threshold:.2f}"), ("Slot 2", slot2),
            ("Score", rec.scoring or "none"),
            ("Decoding", f"greedy, at most {rec.max_len} tokens, {rec.dtype}"),
            done,
            ("Started", _when(rec.created)), ("Ended", _when(rec.finished)), ("Model", rec.model_id),
            ("Model checksum", rec.model_checksum)]


def _table(view: ScanView, threshold: float, recording: Recording | None = None) -> str:
    """The results; with a recording whose start is known, each window's clock time beside its offsets."""
    timed = recording is not None and recording.start is not None
    clock = "<th>Clock time</th>" if timed else ""
    sets = view.has_questions
    asked = "<th>Question</th>" if sets else ""
    head = f"<tr><th>#</th>{clock}{asked}<th>Start</th><th>End</th><th>Answer</th><th>Score</th></tr>"
    body = []
    for n, row in enumerate(view.table(), start=1):
        *named, start, end, answer, score = row.cells(question=sets)
        limit = view.threshold_of(row.question) if sets else threshold
        hit = ' class="hit"' if row.score is not None and row.score >= limit else ""
        at = clock_at(recording, row.start_s) if timed else None
        when = f"<td class=num>{_e(at.isoformat(sep=' ', timespec='seconds'))}</td>" if at else ""
        when += "".join(f"<td>{_e(c)}</td>" for c in named)  # the question's name
        cells = "".join(f"<td class=num>{_e(c)}</td>" for c in (start, end))
        body.append(f"<tr{hit}><td class=num>{n}</td>{when}{cells}<td>{_e(answer)}</td>"
                    f"<td class=num>{_e(score)}</td></tr>")
    return f"<table class=results>{head}{''.join(body)}</table>"


def _overview(rec: ScanRecord, audio: AudioConfig):  # noqa: ANN202 - Overview | None, and a note
    from mellow_desktop.core.overview_cache import file_overview

    try:
        last = collections.deque(file_overview(rec.file, audio=audio), maxlen=1)
        return last[0], ""
    except (MellowError, OSError) as exc:
        return None, f"The overview spectrogram could not be made: {one_line(exc)}"


def html_page(title: str, parts: list[str]) -> str:
    """One self-contained HTML document of the report's ``parts`` (markup) under ``title`` (text)."""
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"
            f"<meta name=viewport content='width=device-width, initial-scale=1'><style>{REPORT_CSS}</style>"
            f"</head><body>{''.join(parts)}<p class=note>Made by Mellow Desktop.</p></body></html>\n")


def report_html(loaded: LoadedScan, threshold: float | None = None, audio: AudioConfig | None = None,
                overview: object | None = None, recording: Recording | None = None) -> str:
    """The report as one HTML document (``overview``: the file's :class:`~.overview.Overview`, made or taken
    from the cache when None; ``recording``: the file as a recording, whose start, when known, puts clock
    times beside the offsets)."""
    rec, audio = loaded.record, audio or AudioConfig()
    threshold = rec.threshold if threshold is None else threshold
    view = ScanView.of(loaded, threshold)
    note = ""
    if overview is None:
        overview, note = _overview(rec, audio)
    duration = float(rec.duration_s or getattr(overview, "duration_s", 0.0) or 1.0)
    scored = rec.scoring == "yes-no" if rec.questions is None else any(view.scored(n) for n in view.names)
    detections = view.detections() if scored else []
    facts = _facts(rec, overview)
    if recording is not None and recording.start is not None:
        facts.append(("Recording start", f"{iso(recording.start)} (from {recording.time_source})"))
    parts = [f"<h1>Scan of {_e(rec.file_name)}</h1><p class=sub>{_e(rec.prompt)}</p>",
             f"<h2>File</h2><table class=facts>{fact_rows(facts)}</table>",
             f"<h2>Scan</h2><table class=facts>{fact_rows(_parameters(rec, threshold, len(view)))}</table>",
             "<h2>Overview spectrogram</h2>"]
    if overview is not None:
        parts.append(spectrogram_svg(overview.mel_db, overview.band_edges_hz, duration, detections))
        if detections:
            parts.append(f"<p class=note>Shaded: {len(detections)} detection(s), windows with P(yes) ≥ "
                         f"{threshold:.2f} merged.</p>")
    else:
        parts.append(f"<p class=note>{_e(note)}</p>")
    for name in view.names if view.has_questions else (None,):
        times, scores = view.score_curve(name)
        if scores.size:
            title = "Score" if name is None else f"Score: {_e(name)}"
            limit = threshold if name is None else view.threshold_of(name)
            parts += [f"<h2>{title}</h2>", score_svg(times, scores, duration, limit)]
    unit = "answers" if view.has_questions else "windows"
    parts += [f"<h2>Results ({len(view)} {unit})</h2>", _table(view, threshold, recording)]
    return html_page(f"Mellow scan: {rec.file_name}", parts)
