"""Whole-file overview of a 2-hour 48 kHz stereo WAV: time to the first snapshot, to the complete overview,
peak RSS growth, and the cached reopen.

    .venv/bin/python benchmarks/overview.py [--minutes 120] [--keep PATH]

The recording (benchmarks/harness.py's long WAV: tones, noise, clicks and silence changing every 3 s) is
written block by block into a temporary folder (1.3 GiB for two hours, PCM 16-bit), or kept at ``--keep``;
the cache goes to a temporary data folder.  Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import long_wav, peak_rss_mib, reset_peak_rss  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--keep", type=Path, default=None,
                        help="use the recording at PATH (written there when missing or of another length)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MELLOW_DATA_DIR"] = str(Path(tmp) / "data")
        from mellow_desktop.core.overview_cache import file_overview

        t0 = time.perf_counter()
        wav = long_wav(args.keep or Path(tmp) / "two hours.wav", args.minutes * 60)
        print(f"recording ready after {time.perf_counter() - t0:.1f} s")
        info = sf.info(str(wav))
        print(f"file: {info.duration / 60:.0f} min, {info.samplerate} Hz, {info.channels} channels, "
              f"{wav.stat().st_size / 1e9:.2f} GB")
        reset_peak_rss()
        rss0 = peak_rss_mib()
        t0 = time.perf_counter()
        first = done_at = last = None
        n = 0
        for last in file_overview(wav):
            n += 1
            first = first if first is not None else time.perf_counter() - t0
            done_at = time.perf_counter() - t0 if last.complete and done_at is None else done_at
        cached_at = time.perf_counter() - t0
        assert last is not None and done_at is not None
        print(f"first snapshot (coarse, whole file): {first:.3f} s")
        print(f"complete overview: {done_at:.2f} s ({n} snapshots, {last.columns} columns x "
              f"{last.mel_db.shape[0]} mel bands); content hash + cache written at {cached_at:.2f} s")
        print(f"peak RSS growth: {peak_rss_mib() - rss0:.0f} MiB")
        t0 = time.perf_counter()
        again = list(file_overview(wav))
        print(f"reopen from the cache: {1e3 * (time.perf_counter() - t0):.1f} ms ({len(again)} snapshot, "
              f"complete={again[0].complete})")


if __name__ == "__main__":
    main()
