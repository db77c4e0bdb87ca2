"""Compute devices and dtypes, and the one CPU fallback policy of the engine.

The policy (used by :class:`~mellow.generation.Engine` only; the CLI and the desktop app call
``Engine.load`` and read ``engine.device_note``):

* asked for CUDA where there is none: the CPU, with a note (:func:`resolve_device`);
* moving the model onto a GPU fails (out of memory, or any CUDA runtime error): the CPU, with a note;
* a GPU runs out of memory during a request: the engine moves to the CPU, says so, and reruns the request.
"""

from __future__ import annotations

import logging

import torch

from mellow.errors import DeviceError, MellowError, one_line

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
           "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16, "half": torch.float16}


def resolve_device(spec: str | int | torch.device | None = "auto") -> tuple[torch.device, str | None]:
    """Map ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``N`` or a torch.device to a usable device.

    Returns ``(device, note)``: ``note`` is a one-line message when the request could not be honoured
    (CUDA asked for but unavailable, so the CPU is used), else None.  Unknown names raise DeviceError.
    """
    if spec is None:
        spec = "auto"
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = f"cuda:{spec}"
    text = str(spec).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu"), None
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise DeviceError(f"unknown device {spec!r} (use auto, cpu, cuda or cuda:N)") from None
    if dev.type == "cpu":
        return torch.device("cpu"), None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return _cpu_instead(f"CUDA is not available here; using the CPU instead of {text}")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"no such GPU: {text} (this machine has {torch.cuda.device_count()})")
        return dev, None
    if dev.type == "mps":
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return dev, None
        return _cpu_instead("MPS is not available here; using the CPU")
    raise DeviceError(f"unsupported device {spec!r} (use auto, cpu, cuda or cuda:N)")


def _cpu_instead(note: str) -> tuple[torch.device, str]:
    log.warning(note)
    return torch.device("cpu"), note


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """``None``/"float32" -> float32; "bfloat16"/"bf16"; "float16"/"fp16"/"half" (a "torch." prefix is
    allowed); a torch.dtype as is."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _DTYPES[str(dtype).lower().removeprefix("torch.")]
    except KeyError:
        raise MellowError(f"unknown dtype {dtype!r} (use float32, bfloat16 or float16)") from None


def dtype_name(dtype: str | torch.dtype | None) -> str:
    """The canonical name of a decoder precision: "float32", "bfloat16" or "float16" (never "torch.…")."""
    return str(resolve_dtype(dtype)).removeprefix("torch.")


def is_oom(exc: BaseException) -> bool:
    """True for CUDA's OutOfMemoryError and for RuntimeErrors that say "out of memory"."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", ())
    if oom_type and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def fallback_note(exc: BaseException, device: torch.device, placing: bool) -> str | None:
    """The note to show when ``exc`` on ``device`` means "continue on the CPU", else None.

    Off the CPU, an out-of-memory error always falls back; while the model is being placed (``placing``), so
    does any CUDA runtime error (a broken driver, a busy or too old GPU).
    """
    if device.type == "cpu":
        return None
    name = device.type.upper()
    if is_oom(exc):
        return f"{name} ran out of memory; continuing on the CPU (slower)"
    if placing and isinstance(exc, RuntimeError) and "cuda" in str(exc).lower():
        return f"{name} not usable ({one_line(exc, 120)}); using the CPU"
    return None


def oom_as_device_error(exc: BaseException, device: torch.device) -> None:
    """Raise an out-of-memory error that cannot be retried as a one-line DeviceError (else return)."""
    if is_oom(exc):
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DeviceError(f"out of memory on {device}: {first}") from None


def empty_cuda_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
