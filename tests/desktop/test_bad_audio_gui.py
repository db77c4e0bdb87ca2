"""The shared matrix of awkward and broken audio files, opened in a clip panel.

Valid files load (and a test tone shows up where the model will hear it); broken ones give a one-line message
in the window while the panel keeps the clip it had.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mellow_desktop.core.clip_analysis import mel_centers_hz
from tests.helpers.bad_audio import AudioCase, cases
from tests.helpers.waits import wait_loaded

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_clip_panel_handles(case: AudioCase, qtbot, window, noise_clip: Path, tmp_path: Path) -> None:
    panel = window.panel_a
    panel.open_file(noise_clip)
    wait_loaded(qtbot, panel, noise_clip)
    folder = tmp_path / "cases"
    folder.mkdir()
    path = case.make(folder)
    panel.open_file(path)
    if case.valid:
        wait_loaded(qtbot, panel, path)
        assert panel.error_text() == ""
        image = panel.spectrogram.image_data()
        assert image.shape == (64, 1001) and np.isfinite(image).all()
        x, y = panel.waveform.drawn_data()
        assert x.size > 0 and np.isfinite(y).all()
        if case.tone_hz:
            band = int(np.argmax(image.mean(axis=1)))
            assert abs(mel_centers_hz()[band] - case.tone_hz) < 120.0
    else:
        qtbot.waitUntil(lambda: panel.error_text() != "", timeout=10000)
        message = panel.error_text()
        assert "\n" not in message and case.reason in message.lower()
        assert "still holds noise.flac" in message
        assert panel.state().path == noise_clip and panel.name_label.text() == "noise.flac"
