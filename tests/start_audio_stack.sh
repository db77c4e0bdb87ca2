#!/usr/bin/env bash
# Start a PulseAudio daemon with a null sink and make the sink's monitor the default source, so that
# PortAudio's "pulse" device records what is played. Idempotent: does nothing when a daemon already answers.
set -euo pipefail
if ! pactl info >/dev/null 2>&1; then
    pulseaudio -D --exit-idle-time=-1 -n \
        --load=module-null-sink --load=module-native-protocol-unix
    for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
sink=$(pactl list short sinks | awk 'NR==1 {print $2}')
[ -n "$sink" ] || { echo "no PulseAudio sink" >&2; exit 1; }
pactl set-default-sink "$sink"
pactl set-default-source "$sink.monitor"
echo "PulseAudio ready: sink $sink, default source $sink.monitor"
