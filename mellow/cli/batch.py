"""``mellow batch``: answer every row of a CSV (columns a, b, prompt[, start_a, start_b]) into JSON lines.

    mellow batch pairs.csv --out results.jsonl

Each answered row is appended to the output and fsynced; rerunning the same command skips the rows already
there and retries those that failed (a partial last line from a crash is cut off first).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from mellow.cli import common
from mellow.errors import AudioError
from mellow.files import write_atomic

CSV_COLUMNS = ("a", "b", "prompt")
CSV_OPTIONAL = ("start_a", "start_b")


def add_parser(sub: Any) -> None:
    """Register ``mellow batch`` on the ``mellow`` subparsers."""
    b = sub.add_parser("batch", help="answer every row of a CSV (columns a, b, prompt[, start_a, start_b])")
    b.add_argument("csv", help="input CSV with a header row; relative audio paths may be relative to it")
    b.add_argument("--out", required=True, help="output JSON-lines file; rows already in it are skipped")
    common.add_model_args(b)
    common.add_decoding_args(b)


@dataclass(frozen=True)
class BatchRow:
    """One CSV row; ``key`` identifies it in the output file (row index + the row's text as written)."""

    index: int
    a: str
    b: str
    prompt: str
    start_a: float
    start_b: float
    key: str


def _row_key(index: int, values: dict[str, str]) -> str:
    content = json.dumps([index, *(values[k] for k in (*CSV_COLUMNS, *CSV_OPTIONAL))])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:20]


def _resolve_audio(text: str, folder: Path) -> str:
    path = Path(text).expanduser()
    if path.is_absolute() or path.exists() or not (folder / path).exists():
        return str(path)
    return str(folder / path)


def read_batch_csv(path: Path) -> list[BatchRow]:
    """Rows of a batch CSV (header ``a,b,prompt[,start_a,start_b]``); raises UsageError on a bad file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = [name.strip() for name in reader.fieldnames or []]
            missing = [c for c in CSV_COLUMNS if c not in fields]
            if missing:
                raise common.UsageError(f"{path}: the header must name the columns a, b, prompt "
                                 f"(missing: {', '.join(missing)})")
            reader.fieldnames = fields
            rows = []
            for n, rec in enumerate(reader):
                line = reader.line_num
                values = {k: (rec.get(k) or "").strip() for k in (*CSV_COLUMNS, *CSV_OPTIONAL)}
                values["prompt"] = rec.get("prompt") or ""  # the prompt is used exactly as written
                if not values["a"] or not values["b"]:
                    raise common.UsageError(f"{path}, line {line}: empty audio path")
                starts = []
                for col in CSV_OPTIONAL:
                    try:
                        starts.append(float(values[col] or 0.0))
                    except ValueError:
                        raise common.UsageError(
                            f"{path}, line {line}: {col} is not a number: {values[col]!r}") from None
                rows.append(BatchRow(n, _resolve_audio(values["a"], path.parent),
                                     _resolve_audio(values["b"], path.parent), values["prompt"],
                                     starts[0], starts[1], _row_key(n, values)))
    except csv.Error as exc:
        raise common.UsageError(f"{path} is not a readable CSV: {exc}") from None
    except UnicodeDecodeError:
        raise common.UsageError(f"{path} is not a UTF-8 text CSV") from None
    return rows


def finished_keys(out_path: Path) -> set[str]:
    """Keys of the rows already answered in ``out_path``.

    A partial last line (a crash mid-write) is cut off; lines for rows that failed are removed so that those
    rows run again.  Either way each row ends up in the file exactly once.
    """
    if not out_path.exists():
        return set()
    raw = out_path.read_bytes()
    lines = raw.split(b"\n")
    tail = lines.pop()  # after the last newline: empty, or a partial line from a crash
    keep: list[bytes] = []
    keys: set[str] = set()
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            keep.append(line)  # not ours to judge: kept, and it counts as no row
            continue
        if isinstance(rec, dict) and (rec.get("error") or rec.get("key") in keys):
            continue
        if isinstance(rec, dict) and rec.get("key"):
            keys.add(str(rec["key"]))
        keep.append(line)
    if tail or len(keep) != len(lines):
        write_atomic(out_path, b"".join(line + b"\n" for line in keep))
    return keys


def _append_line(f: Any, record: dict[str, Any]) -> None:
    """Append one JSON line to an unbuffered file and fsync it (a failed write leaves no buffer behind)."""
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    done = 0
    while done < len(line):
        done += f.write(line[done:])
    os.fsync(f.fileno())


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Answer the rows not yet in ``--out``, one fsynced JSON line each; 2 when some rows failed."""
    from tqdm import tqdm

    from mellow.audio import Clip

    rows = read_batch_csv(Path(args.csv))
    out_path = Path(args.out)
    done = finished_keys(out_path)
    todo = [r for r in rows if r.key not in done]
    if not todo:
        print(f"all {len(rows)} rows already in {out_path}", file=sys.stderr)
        return 0
    options = common.generation_options(args)
    engine = common.open_engine(args)
    failures = 0
    bar_args = {"total": len(rows), "initial": len(rows) - len(todo), "unit": "row", "file": sys.stderr,
                "desc": "mellow batch"}
    with out_path.open("ab", buffering=0) as f, tqdm(**bar_args) as bar:
        for row in todo:
            record: dict[str, Any] = {"row": row.index, "key": row.key, "a": row.a, "b": row.b,
                                      "prompt": row.prompt, "start_a": row.start_a, "start_b": row.start_b}
            try:
                answer = engine.generate([(Clip(row.a, row.start_a), Clip(row.b, row.start_b), row.prompt)],
                                         options)[0].text
                record.update(answer=answer, error=None)
            except AudioError as exc:  # one bad file should not stop a long batch
                failures += 1
                record.update(answer=None, error=str(exc))
            try:
                _append_line(f, record)
            except OSError as exc:
                raise common.UsageError(f"cannot write {out_path}: {exc.strerror or exc}; the {bar.n} "
                                        "finished rows are kept, run the same command again to continue"
                                        ) from None
            bar.update(1)
    if failures:
        print(f"error: {failures} of {len(todo)} rows failed (see the \"error\" field in {out_path}); "
              "run again to retry them", file=sys.stderr)
        return common.EXIT_USER_ERROR
    return 0
