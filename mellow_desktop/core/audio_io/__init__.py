"""Qt-free audio input/output for Mellow Desktop: devices, recorder, player and a crash-tolerant WAV writer.

The GUI polls :class:`Recorder` and :class:`Player` from a timer; their PortAudio callbacks only copy data.
Importing this package does not import ``sounddevice``: PortAudio problems surface as
:class:`AudioUnavailable` (or a reason string from :mod:`.devices`) when recording or playback starts.
"""

from mellow.audio_io.devices import (
    AudioDevice,
    AudioUnavailable,
    list_input_devices,
    list_output_devices,
    playback_unavailable_reason,
    portaudio_problem,
    recording_unavailable_reason,
)
from mellow.audio_io.wav_writer import (
    RepairResult,
    WavWriteError,
    WavWriter,
    find_unfinished_recordings,
    repair_wav,
)
from mellow_desktop.core.audio_io.player import Player, PlayerStatus
from mellow_desktop.core.audio_io.recorder import Recorder, RecorderStatus

__all__ = [
    "AudioDevice",
    "AudioUnavailable",
    "Player",
    "PlayerStatus",
    "Recorder",
    "RecorderStatus",
    "RepairResult",
    "WavWriteError",
    "WavWriter",
    "find_unfinished_recordings",
    "list_input_devices",
    "list_output_devices",
    "playback_unavailable_reason",
    "portaudio_problem",
    "recording_unavailable_reason",
    "repair_wav",
]
