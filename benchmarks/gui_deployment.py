"""A deployment of 2 000 recordings in the window (offscreen, 1600x1000, 5 ms QTimer heartbeat): opening the
folder (listing in the background: headers and metadata only), the largest event-loop stall while it lists
and shows the table and effort lanes, and the time to paint 30 days x 24 hours of effort.

The folder: two recorders over 30 days, an AudioMoth writing one 1-hour file an hour (comment with the
time; named by the time) and a Song Meter with GUANO metadata writing 40-minute files (the 2 000 files in
all), each a real header over a data chunk that is a hole on disk.  Targets: the window stays responsive
(largest stall <= 50 ms); the month of effort draws at once.

Run:  python benchmarks/gui_deployment.py [--files 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.field_files import audiomoth_comment, guano_chunk, write_sparse_wav  # noqa: E402
from benchmarks.harness import Heartbeat, bench_window, offscreen_unless_display, wait  # noqa: E402

RATE = 8000


def make_deployment(root: Path, files: int) -> Path:
    """``files`` recordings: an AudioMoth's hourly files, then a Song Meter's 40-minute files (GUANO)."""
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    moth = min(files, 30 * 24)
    for n in range(moth):
        t = start + timedelta(hours=n)
        write_sparse_wav(root / "AM01" / f"{t:%Y%m%d_%H%M%S}.WAV", RATE * 2 * 3600, RATE,
                         info={"ICMT": audiomoth_comment(f"{t:%H:%M:%S %d/%m/%Y}", "(UTC)")})
    for n in range(files - moth):
        t = start + timedelta(minutes=40 * n)
        guano = guano_chunk(f"GUANO|Version: 1.0\nTimestamp: {t.isoformat()}\nMake: Wildlife Acoustics\n"
                            "Model: Song Meter Mini\nSerial: SMM04213\nLoc Position: 52.52 13.40\n")
        write_sparse_wav(root / "SM02" / f"SITE2_{t:%Y%m%d_%H%M%S}.wav", RATE * 2 * 2400, RATE, trailer=guano)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    offscreen_unless_display()
    root = make_deployment(Path(tempfile.mkdtemp(prefix="mellow-deployment-")) / "SD cards", args.files)
    app, window, _tmp = bench_window("mellow-gui-deployment-")
    flow = window.deployments
    flow.pane.zone.setText("UTC")
    for label in ("first open (the pane appears)", "opened again"):
        flow.deployment = None
        beat = Heartbeat()
        beat.start()
        t0 = time.perf_counter()
        flow.open_folder(root)
        if not wait(app, lambda: flow.deployment is not None and flow.listing is None, 300):
            raise SystemExit("the folder was not listed within 300 s")
        listed = time.perf_counter() - t0
        settle = time.perf_counter() + 0.5
        wait(app, lambda end=settle: time.perf_counter() > end, 5)  # the pane's paints
        stall = beat.stop()
        print(f"{label}: listed and shown in {listed:.2f} s (background job, headers only); largest "
              f"event-loop stall {stall:.1f} ms (target <= 50 ms); load {os.getloadavg()[0]:.1f}")
    timeline = flow.pane.timeline
    t1 = time.perf_counter()
    timeline.grab()
    paint_ms = 1e3 * (time.perf_counter() - t1)
    intervals = sum(len(lane.intervals) for lane in timeline.lanes)
    print(f"files: {len(flow.deployment.recordings)} in {len(flow.deployment.recorders)} recorders; "
          f"{flow.pane.summary.text()}")
    print(f"paint of the effort lanes ({intervals} stretches over 30 days, {timeline.width()} px): "
          f"{paint_ms:.1f} ms")
    window.close()


if __name__ == "__main__":
    main()
