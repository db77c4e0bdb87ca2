"""A child process that scans a recording into the history database the way the app's worker does, so
that the parent can kill it (SIGKILL) mid-scan and resume.

    python -m tests.helpers.scan_child DB CKPT GGUF start AUDIO
    python -m tests.helpers.scan_child DB CKPT GGUF resume SCAN_ID

Prints ``scan <id>`` once the scan is stored, then ``batch <done>`` after each stored batch.
"""

from __future__ import annotations

import sys

from mellow.wrapper import open_engine
from mellow_desktop.core.scan_controller import ScanController
from mellow_desktop.core.scan_record import ScanRecord
from tests.helpers.scans import YES_NO


def main(argv: list[str]) -> int:
    db, ckpt, gguf, action, target = argv
    engine = open_engine("tiny", ckpt, gguf, "cpu")
    if action == "start":
        request = ScanRecord(file=target, prompt=YES_NO, hop_s=1.0, max_len=2)
        controller = ScanController.start(engine, request, db, batch_size=2)
    else:
        controller = ScanController.resume(engine, db, int(target), batch_size=2)
    print(f"scan {controller.scan_id}", flush=True)
    for batch in controller.run():
        print(f"batch {batch.progress.done}", flush=True)
    controller.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
