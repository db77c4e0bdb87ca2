"""History export as Markdown or JSON, written atomically with the user's usual file permissions. No Qt."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mellow.errors import one_line
from mellow.files import is_disk_full, write_atomic
from mellow_desktop.core.history_record import HistoryError, HistoryRecord

EXTENSIONS = {"md": ".md", "json": ".json"}
"""The file-name extension of each export format."""

JSON_FORMAT = "mellow-history"
JSON_VERSION = 1


def with_extension(path: str | os.PathLike[str], kind: str) -> Path:
    """``path`` ending in the extension of format ``kind`` ("md" or "json"): ``hist`` → ``hist.json``.

    A name that already ends in it (any case) is kept; any other gets it added (``a.txt`` → ``a.txt.md``).
    """
    p = Path(path)
    ext = EXTENSIONS[kind]
    return p if p.name.lower().endswith(ext) else p.with_name(p.name + ext)


def window_text(start_s: float, duration_s: float | None) -> str:
    """What the model heard of a clip: ``window 1.50–11.50 s`` or ``whole 9.15 s, repeated to fill 10 s``.

    Times of a minute or more read ``m:ss.s`` / ``h:mm:ss.s`` (:func:`mellow.timefmt.format_seconds`).
    """
    # Both import torch (through mellow.audio): only when exporting, not for every use of the history.
    from mellow.timefmt import format_seconds
    from mellow_desktop.core.clip_analysis import WINDOW_SECONDS

    if duration_s is not None and duration_s < WINDOW_SECONDS:
        return f"whole {format_seconds(duration_s)}, repeated to fill {WINDOW_SECONDS:g} s"
    end = start_s + WINDOW_SECONDS
    if end < 60.0:
        return f"window {start_s:.2f}–{end:.2f} s"
    return f"window {format_seconds(start_s)}–{format_seconds(end)}"


def _clip_line(label: str, path: str | None, start: float, duration: float | None) -> str:
    if not path:
        return f"- Clip {label}: (none)"
    return f"- Clip {label}: `{path}` ({window_text(start, duration)})"


def render_markdown(records: list[HistoryRecord]) -> str:
    """The Markdown text of an export."""
    out = ["# Mellow conversation", ""]
    for r in records:
        out.append(f"## {r.created_iso()} ({r.status})")
        out.append("")
        out.append(_clip_line("A", r.clip_a, r.start_a, r.duration_a))
        out.append(_clip_line("B", r.clip_b, r.start_b, r.duration_b))
        facts = []
        if r.model_id:
            facts.append(f"model `{r.model_id}`")
        if r.n_tokens is not None:
            facts.append(f"{r.n_tokens} tokens")
        if r.tokens_per_s is not None:
            facts.append(f"{r.tokens_per_s:.1f} tokens/s")
        if facts:
            out.append("- " + ", ".join(facts))
        out.append("")
        out.append("**Question**")
        out.append("")
        out.extend("> " + line if line else ">" for line in r.prompt.splitlines() or [""])
        out.append("")
        out.append("**Answer**" + ("" if r.status == "finished" else f" ({r.status})"))
        out.append("")
        out.append(r.answer)
        out.append("")
    return "\n".join(out)


def render_json(records: list[HistoryRecord]) -> str:
    """The JSON text of an export: ``{"format": "mellow-history", "version": 1, "records": [...]}``."""
    doc = {"format": JSON_FORMAT, "version": JSON_VERSION, "records": [r.to_json_dict() for r in records]}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def export_records(records: list[HistoryRecord], kind: str, path: str | os.PathLike[str]) -> Path:
    """Write ``records`` as format ``kind`` ("md" or "json") to ``path`` (extension added when missing)."""
    text = render_markdown(records) if kind == "md" else render_json(records)
    return atomic_write_text(with_extension(path, kind), text)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` over ``path`` atomically (:func:`mellow.files.write_atomic`); returns ``path``.

    On any failure (disk full, file-size limit, permissions) an existing file at ``path`` is untouched and
    :class:`HistoryError` explains what happened.
    """
    try:
        return write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        reason = exc.strerror or one_line(exc)
        if is_disk_full(exc):
            reason = f"disk full or file too large ({reason})"
        err = HistoryError(f"cannot export to {path}: {reason}; any existing file there was left unchanged")
        err.errno = exc.errno
        raise err from None
