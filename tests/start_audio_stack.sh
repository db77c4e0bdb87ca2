#!/usr/bin/env bash
# Start a PulseAudio daemon with a null sink and make the sink's monitor the default source, so that
# PortAudio's "pulse" device records what is played. Idempotent. The tests' `pulse_audio` fixture
# (tests/helpers/audio_stack.py) does the same; running this first makes a failure visible at the top of a CI log.
set -euo pipefail
if ! pactl info >/dev/null 2>&1; then
    pulseaudio -D --exit-idle-time=-1 -n \
        --load=module-null-sink --load=module-native-protocol-unix
    for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
sink=$(pactl list short sinks | awk '$3 ~ /null-sink/ {print $2; exit}')
[ -n "$sink" ] || { echo "no PulseAudio null sink" >&2; exit 1; }
pactl set-default-sink "$sink"
pactl set-default-source "$sink.monitor"
# A low-latency reader keeps the null sink rendering in 20 ms steps (else 2 s chunks delay recordings).
pgrep -x parec >/dev/null || (setsid parec --latency-msec=20 -d "$sink.monitor" >/dev/null 2>&1 </dev/null &)
echo "PulseAudio ready: sink $sink, default source $sink.monitor"
