"""Audio devices through ``sounddevice`` (PortAudio), with readable reasons when audio is unavailable.

``sounddevice`` raises ``OSError`` at import when the PortAudio library (Debian: ``libportaudio2``) is
missing; this module catches that once and turns it into a reason string, so the GUI can disable Record/Play
with an explanation while everything else keeps working. :func:`open_stream` is the one way the recorder
and the player open a stream: every way that can fail (no PortAudio, no such device, a busy or vanished
device, a sample rate or channel count the device refuses) becomes one :class:`AudioUnavailable` line.
No Qt here.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mellow.errors import one_line

PORTAUDIO_HINT = "install the PortAudio library (Debian/Ubuntu: apt install libportaudio2)"


class AudioUnavailable(RuntimeError):
    """Recording or playback cannot run; ``str(exc)`` is a one-line reason for the user."""


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device as the settings dialog shows it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    @property
    def label(self) -> str:
        """``name (host API)``, with "default" noted."""
        mark = " — default" if self.is_default_input or self.is_default_output else ""
        return f"{self.name} ({self.hostapi}){mark}"


@functools.lru_cache(maxsize=1)
def _import() -> tuple[ModuleType | None, str | None]:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio shared library not found
        return None, f"audio is unavailable: {one_line(exc)}; {PORTAUDIO_HINT}"
    except ImportError as exc:
        return None, f"audio is unavailable: the sounddevice package is missing ({exc.name or exc})"
    return sounddevice, None


def sounddevice_module() -> ModuleType:
    """The imported ``sounddevice`` module, or raise :class:`AudioUnavailable` with the reason."""
    sd, reason = _import()
    if sd is None:
        raise AudioUnavailable(reason or "audio is unavailable")
    return sd


def portaudio_problem() -> str | None:
    """Why PortAudio cannot be used at all, or None when it loads."""
    return _import()[1]


def _defaults(sd: ModuleType) -> tuple[int, int]:
    try:
        default_in, default_out = sd.default.device
    except (TypeError, ValueError):
        default_in = default_out = -1
    default_in = -1 if default_in is None else default_in
    default_out = -1 if default_out is None else default_out
    return int(default_in), int(default_out)


def list_devices() -> list[AudioDevice]:
    """Every PortAudio device (empty when PortAudio is unavailable)."""
    sd, _ = _import()
    if sd is None:
        return []
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
    except Exception:  # noqa: BLE001 - PortAudio errors surface as sd.PortAudioError or OSError
        return []
    default_in, default_out = _defaults(sd)
    devices = []
    for i, d in enumerate(raw):
        devices.append(
            AudioDevice(
                index=i,
                name=str(d["name"]),
                hostapi=str(hostapis[d["hostapi"]]["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                is_default_input=i == default_in,
                is_default_output=i == default_out,
            )
        )
    return devices


def list_input_devices() -> list[AudioDevice]:
    """Devices that can record."""
    return [d for d in list_devices() if d.max_input_channels > 0]


def list_output_devices() -> list[AudioDevice]:
    """Devices that can play."""
    return [d for d in list_devices() if d.max_output_channels > 0]


def resolve_device(device: int | str | None, kind: str) -> AudioDevice:
    """Find a device by index, exact name, or name substring (None = the system default).

    ``kind`` is "input" or "output". Raises :class:`AudioUnavailable` with a reason when none fits.
    """
    if kind not in ("input", "output"):
        raise ValueError("kind must be 'input' or 'output'")
    sounddevice_module()
    candidates = list_input_devices() if kind == "input" else list_output_devices()
    if not candidates:
        raise AudioUnavailable(f"no audio {kind} device found")
    if device is None:
        for d in candidates:
            if (d.is_default_input if kind == "input" else d.is_default_output):
                return d
        return candidates[0]
    if isinstance(device, int):
        for d in candidates:
            if d.index == device:
                return d
        raise AudioUnavailable(f"audio {kind} device #{device} is not available")
    for d in candidates:
        if d.name == device:
            return d
    for d in candidates:
        if device.lower() in d.name.lower():
            return d
    raise AudioUnavailable(f"audio {kind} device '{device}' is not available")


def recording_unavailable_reason(device: int | str | None = None) -> str | None:
    """None when recording can start on ``device``; else the reason to show by a disabled Record button."""
    try:
        resolve_device(device, "input")
    except AudioUnavailable as exc:
        return str(exc)
    return None


def playback_unavailable_reason(device: int | str | None = None) -> str | None:
    """None when playback can start on ``device``; else the reason to show."""
    try:
        resolve_device(device, "output")
    except AudioUnavailable as exc:
        return str(exc)
    return None


# PortAudio's PaErrorCode values whose own text ("Invalid device", "Device unavailable") says too little.
_PA_DEVICE_UNAVAILABLE = -9985
_PA_INVALID_DEVICE = -9996
_PA_INVALID_RATE = -9997
_PA_INVALID_CHANNELS = -9998
_VERBS = {"input": "record from", "output": "play on"}
DEVICE_DEFAULT_RATE = 0
"""In :func:`open_stream`'s ``samplerates``: the device's own default rate."""

STALL_TIMEOUT_S = 2.0
"""No audio for this long from a running input stream counts as the device having gone away."""

STARTUP_TIMEOUT_S = 6.0
"""The same before the first block arrives (some devices and sound servers start slowly)."""


@dataclass(frozen=True)
class OpenStream:
    """A started PortAudio stream and what it was opened with."""

    stream: Any  # sounddevice.InputStream or OutputStream
    device: AudioDevice
    channels: int
    samplerate: int


def _failure(exc: Exception, channels: int, samplerate: int) -> str:
    """The reason a stream could not be opened, in words (PortAudio's own text for the rare cases)."""
    code = exc.args[1] if len(exc.args) > 1 else None
    return {
        _PA_DEVICE_UNAVAILABLE: "the device is busy or unavailable (is another program using it?)",
        _PA_INVALID_DEVICE: "the device is not available any more (was it unplugged?)",
        _PA_INVALID_RATE: f"it does not support {samplerate} Hz",
        _PA_INVALID_CHANNELS: f"it does not support {channels} channel{'' if channels == 1 else 's'}",
    }.get(code, one_line(exc))


def _pick_samplerate(sd: ModuleType, kind: str, dev: AudioDevice, channels: int,
                     samplerates: Sequence[int | None]) -> int:
    """The first of ``samplerates`` (None skipped) the device accepts; AudioUnavailable if none."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    wanted = (int(dev.default_samplerate) if r == DEVICE_DEFAULT_RATE else r for r in samplerates)
    rates = list(dict.fromkeys(int(r) for r in wanted if r))
    for rate in rates:
        try:
            check(device=dev.index, channels=channels, samplerate=rate, dtype="float32")
            return rate
        except Exception as exc:  # noqa: BLE001 - sd.PortAudioError and friends: try the next rate
            refusal = exc
    if len(rates) == 1:
        raise AudioUnavailable(f"cannot {_VERBS[kind]} {dev.name}: {_failure(refusal, channels, rates[0])}")
    raise AudioUnavailable(f"the {kind} device accepts none of the usual sample rates")


def open_stream(kind: str, device: int | str | None, *, channels: int, samplerates: Sequence[int | None],
                callback: Callable[..., None], finished_callback: Callable[[], None], latency: float | str,
                blocksize: int = 0) -> OpenStream:
    """Open and start a ``kind`` ("input" or "output") float32 stream on ``device`` (see
    :func:`resolve_device`), with at most ``channels`` channels (as many as the device has) and the first of
    ``samplerates`` it accepts. Raises :class:`AudioUnavailable` with the reason in one line."""
    sd = sounddevice_module()
    dev = resolve_device(device, kind)
    most = dev.max_input_channels if kind == "input" else dev.max_output_channels
    channels = max(1, min(channels, most))
    rate = _pick_samplerate(sd, kind, dev, channels, samplerates)
    factory = sd.InputStream if kind == "input" else sd.OutputStream
    stream = None
    try:
        stream = factory(device=dev.index, channels=channels, samplerate=rate, dtype="float32",
                         blocksize=blocksize, latency=latency, callback=callback,
                         finished_callback=finished_callback)
        stream.start()
    except Exception as exc:  # noqa: BLE001 - sd.PortAudioError and friends
        close_stream(stream)
        raise AudioUnavailable(f"cannot {_VERBS[kind]} {dev.name}: {_failure(exc, channels, rate)}") from None
    return OpenStream(stream, dev, channels, rate)


def close_stream(stream: Any) -> None:
    """Stop and close a stream from :func:`open_stream` (None is fine); never raises."""
    if stream is not None:
        with contextlib.suppress(Exception):
            stream.abort()
        with contextlib.suppress(Exception):
            stream.close()


def refresh_devices() -> None:
    """Make PortAudio list the devices again (one plugged in after it started is found only then).  Every
    stream this process has open is closed by it, so call it only when none is."""
    sd = sounddevice_module()
    with contextlib.suppress(Exception):
        sd._terminate()
    with contextlib.suppress(Exception):
        sd._initialize()
