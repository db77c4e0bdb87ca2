"""The real audio stack for tests: a PulseAudio daemon with a null sink, reached through PortAudio's ALSA
``pulse`` device. What is played to the null sink comes back on its ``.monitor`` source.

``ensure_pulse()`` starts and configures it when needed; the ``pulse_audio`` fixture wraps it and skips
locally (fails when ``CI=true``) if the stack cannot run. Needs: ``libportaudio2 pulseaudio pulseaudio-utils
libasound2-plugins`` (Debian/Ubuntu).

The null sink renders in 2 s chunks while no client asks for low latency, which would delay the first
recording by up to 2 s; a small background ``parec`` with a 20 ms latency request (the "latency keeper")
keeps it rendering in short chunks.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.required import component_missing

PULSE_START = [
    "pulseaudio",
    "-D",
    "--exit-idle-time=-1",
    "-n",
    "--load=module-null-sink",
    "--load=module-native-protocol-unix",
]
APT_HINT = "apt-get install -y libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins"
PORTAUDIO_DEVICE = "pulse"


class AudioStackError(RuntimeError):
    """The PulseAudio/PortAudio stack cannot be brought up; the message says why."""


@dataclass(frozen=True)
class PulseStack:
    """A running stack: play to ``sink``, record from ``monitor``; PortAudio sees it as ``device``."""

    sink: str
    monitor: str
    device: str = PORTAUDIO_DEVICE


def _run(*args: str, timeout: float = 5.0, server: str | None = None) -> subprocess.CompletedProcess[str]:
    env = None if server is None else dict(os.environ, PULSE_SERVER=server)
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False, env=env)


def pulse_running() -> bool:
    """True when a PulseAudio server answers ``pactl info``."""
    if shutil.which("pactl") is None:
        return False
    try:
        return _run("pactl", "info").returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _null_sink() -> str | None:
    out = _run("pactl", "list", "short", "sinks").stdout
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and "null-sink" in fields[2]:
            return fields[1]
    return None


def _sink_latency_us(sink: str, server: str | None = None) -> tuple[int, int] | None:
    """(current, configured) latency of ``sink`` in microseconds, from ``pactl list sinks``."""
    out = _run("pactl", "list", "sinks", server=server).stdout
    for block in out.split("\n\n"):
        if re.search(rf"^\s*Name: {re.escape(sink)}\s*$", block, re.M):
            m = re.search(r"Latency: (\d+) usec, configured (\d+) usec", block)
            return (int(m.group(1)), int(m.group(2))) if m else None
    return None


def _low_latency(sink: str, server: str | None = None) -> bool:
    lat = _sink_latency_us(sink, server)
    return lat is not None and lat[0] <= 200_000 and lat[1] <= 100_000


def _die_with_parent() -> None:
    """preexec_fn: ask Linux to SIGTERM this child when the test process dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start_latency_keeper(
    monitor: str, server: str | None = None, tied: bool = False
) -> subprocess.Popen[bytes]:
    """``parec`` on ``monitor`` asking for 20 ms latency; ``tied`` ends it with this process."""
    extra = [] if server is None else [f"--server={server}"]
    return subprocess.Popen(
        ["parec", "--latency-msec=20", "-d", monitor, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent if tied else None,
    )


def _remove_stale_session_sinks() -> None:
    """Unload ``mellow_test_<pid>`` sinks left by test sessions that were killed before their teardown."""
    for line in _run("pactl", "list", "short", "modules").stdout.splitlines():
        m = re.match(r"(\d+)\tmodule-null-sink\tsink_name=mellow_test_(\d+)\s*$", line)
        if not m:
            continue
        try:
            os.kill(int(m.group(2)), 0)
        except ProcessLookupError:
            _run("pactl", "unload-module", m.group(1))
        except PermissionError:
            pass


def ensure_pulse(timeout: float = 15.0) -> PulseStack:
    """Make sure PulseAudio runs with a null sink as default sink and its monitor as default source.

    Starts the daemon and the latency keeper when needed; checks that PortAudio can see the ``pulse``
    device. Raises :class:`AudioStackError` with the reason otherwise.
    """
    missing = [tool for tool in ("pulseaudio", "pactl", "parec", "paplay") if shutil.which(tool) is None]
    if missing:
        raise AudioStackError(f"missing {', '.join(missing)}; install with: {APT_HINT}")
    if not pulse_running():
        result = _run(*PULSE_START, timeout=timeout)
        deadline = time.monotonic() + timeout
        while not pulse_running():
            if time.monotonic() > deadline:
                detail = " ".join((result.stderr or "").split())[-300:]
                raise AudioStackError(f"PulseAudio did not start: {detail or 'no output'}")
            time.sleep(0.1)
    sink = _null_sink()
    if sink is None:
        loaded = _run("pactl", "load-module", "module-null-sink", "sink_name=mellow_null")
        sink = _null_sink()
        if sink is None:
            raise AudioStackError(f"cannot create a null sink: {loaded.stderr.strip()}")
    monitor = f"{sink}.monitor"
    for args in (("set-default-sink", sink), ("set-default-source", monitor)):
        res = _run("pactl", *args)
        if res.returncode != 0:
            raise AudioStackError(f"pactl {' '.join(args)} failed: {res.stderr.strip()}")
    if not _low_latency(sink):
        lat = _sink_latency_us(sink)
        if lat is None or lat[1] > 100_000:
            _start_latency_keeper(monitor)
        deadline = time.monotonic() + 5.0  # a 2 s render cycle started before the keeper must finish
        while not _low_latency(sink):
            if time.monotonic() > deadline:
                raise AudioStackError(f"the null sink stays at a high latency ({_sink_latency_us(sink)} us)")
            time.sleep(0.1)
    _check_portaudio()
    return PulseStack(sink=sink, monitor=monitor)


def _check_portaudio() -> None:
    from mellow.audio_io.devices import list_input_devices, portaudio_problem

    problem = portaudio_problem()
    if problem:
        raise AudioStackError(problem)
    names = [d.name for d in list_input_devices()]
    if PORTAUDIO_DEVICE not in names:
        raise AudioStackError(
            f"PortAudio has no '{PORTAUDIO_DEVICE}' device (found {names}); install libasound2-plugins"
        )


@contextlib.contextmanager
def private_pulse(folder: Path, timeout: float = 10.0) -> Iterator[str]:
    """A second, throw-away PulseAudio daemon with its own null sink; yields its ``PULSE_SERVER`` string.

    Killing it (``os.kill(pid, SIGKILL)`` with the pid in ``folder / "pid"``) makes its devices vanish
    without disturbing the shared daemon other tests use. Stopped on exit.
    """
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "native"
    env = dict(os.environ, XDG_RUNTIME_DIR=str(folder), HOME=str(folder))
    env.pop("PULSE_SERVER", None)
    proc = subprocess.Popen(
        [
            "pulseaudio",
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            "--disable-shm=yes",
            "--load=module-null-sink",
            f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    (folder / "pid").write_text(str(proc.pid))
    server = f"unix:{socket}"
    keeper: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + timeout
        while True:
            res = subprocess.run(
                ["pactl", "info"], env=dict(env, PULSE_SERVER=server), capture_output=True, check=False
            )
            if res.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AudioStackError("the private PulseAudio daemon did not start")
            time.sleep(0.1)
        keeper = _start_latency_keeper("null.monitor", server, tied=True)
        while not _low_latency("null", server):
            if time.monotonic() > deadline + 5:
                raise AudioStackError("the private null sink stays at a high latency")
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if keeper is not None:
            keeper.kill()
            keeper.wait(timeout=10)


# ----------------------------------------------------------------------------------------------- players


def play_file(path: Path, sink: str | None = None, server: str | None = None) -> subprocess.Popen[bytes]:
    """Start ``paplay`` on ``path`` (to ``sink``, on the daemon ``server`` if given); the caller stops it."""
    args = ["paplay", "--latency-msec=50"]
    if sink:
        args.append(f"--device={sink}")
    if server:
        args.append(f"--server={server}")
    return subprocess.Popen([*args, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a helper process started by a test, then reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ----------------------------------------------------------------------------------------------- fixtures


@contextlib.contextmanager
def session_sink(stack: PulseStack) -> Iterator[PulseStack]:
    """A null sink of our own on the shared daemon, made this process's default via ``PULSE_SINK`` and
    ``PULSE_SOURCE`` (libpulse reads them when a stream opens), so tones from other test sessions on the
    same machine never mix into ours. Removed on exit.
    """
    _remove_stale_session_sinks()
    name = f"mellow_test_{os.getpid()}"
    loaded = _run("pactl", "load-module", "module-null-sink", f"sink_name={name}")
    if loaded.returncode != 0:
        raise AudioStackError(f"cannot create the test sink: {loaded.stderr.strip()}")
    module = loaded.stdout.strip()
    keeper = _start_latency_keeper(f"{name}.monitor", tied=True)
    saved = {k: os.environ.get(k) for k in ("PULSE_SINK", "PULSE_SOURCE")}
    try:
        deadline = time.monotonic() + 5.0
        while not _low_latency(name):
            if time.monotonic() > deadline:
                raise AudioStackError(f"the test sink stays at a high latency ({_sink_latency_us(name)} us)")
            time.sleep(0.1)
        os.environ["PULSE_SINK"] = name
        os.environ["PULSE_SOURCE"] = f"{name}.monitor"
        yield PulseStack(sink=name, monitor=f"{name}.monitor", device=stack.device)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        keeper.kill()
        keeper.wait(timeout=10)
        _run("pactl", "unload-module", module)


@pytest.fixture(scope="session")
def pulse_audio() -> Iterator[PulseStack]:
    """The running PulseAudio stack with a null sink private to this test session (PortAudio device
    ``pulse`` plays to it and records its monitor). Skips locally, fails in CI (``CI=true``) when unavailable.
    """
    try:
        stack = ensure_pulse()
        private = session_sink(stack)
        own = private.__enter__()
    except (AudioStackError, OSError, subprocess.SubprocessError) as exc:
        message = f"real audio stack unavailable: {exc}"
        component_missing(message)
    try:
        yield own
    finally:
        private.__exit__(None, None, None)


@pytest.fixture
def mellow_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point ``MELLOW_DATA_DIR`` at a fresh folder for the test."""
    folder = tmp_path / "mellow-data"
    folder.mkdir()
    monkeypatch.setenv("MELLOW_DATA_DIR", str(folder))
    yield folder
