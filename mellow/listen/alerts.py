"""``--on-detect CMD``: a shell command run once per detection with the detection's row as JSON on stdin.

Commands run in the background (the listener never waits for one); :meth:`DetectCommand.poll` reaps those
that ended and says which failed.  Nothing is sent anywhere by Mellow itself: what the command does is the
user's choice.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from typing import Any

from mellow.errors import one_line

MAX_RUNNING = 8
"""Detections arriving while this many commands still run wait for one to end."""


class DetectCommand:
    """Run ``command`` (through the shell, in ``cwd``) for each row."""

    def __init__(self, command: str, cwd: str | None = None) -> None:
        self.command = command
        self.cwd = cwd
        self.started = 0
        self._running: list[subprocess.Popen[bytes]] = []
        self._queue: list[dict[str, Any]] = []

    def run(self, row: dict[str, Any]) -> list[str]:
        """Start the command for ``row`` (or queue it behind :data:`MAX_RUNNING` running ones)."""
        self._queue.append(row)
        return self.poll()

    def poll(self) -> list[str]:
        """Reap ended commands, start queued ones; one line per failure."""
        problems = []
        for proc in list(self._running):
            code = proc.poll()
            if code is not None:
                self._running.remove(proc)
                if code != 0:
                    problems.append(f"--on-detect command exited with status {code}")
        while self._queue and len(self._running) < MAX_RUNNING:
            problems += self._start(self._queue.pop(0))
        return problems

    def _start(self, row: dict[str, Any]) -> list[str]:
        data = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            proc = subprocess.Popen(self.command, shell=True, stdin=subprocess.PIPE, cwd=self.cwd,
                                    stdout=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            return [f"--on-detect command could not start: {one_line(exc)}"]
        self.started += 1
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):  # a command that does not read its input
            proc.stdin.write(data)
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.close()
        self._running.append(proc)
        return []

    def close(self, wait_s: float = 10.0) -> list[str]:
        """Start what is queued and wait up to ``wait_s`` for the commands to end (the rest keep running)."""
        deadline = time.monotonic() + wait_s
        problems = self.poll()
        while (self._running or self._queue) and time.monotonic() < deadline:
            time.sleep(0.05)
            problems += self.poll()
        return problems
