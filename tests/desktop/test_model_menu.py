"""Model ▸ Download Mellow v0… against a local Hub look-alike (real HTTP on 127.0.0.1), then loading it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mellow.model_files import MODEL_REPO, TOKENIZER_REPO
from tests.helpers.hub import HubServer


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tokenizer):
    """A hub serving a v0.ckpt that is not a real checkpoint, and the real SmolLM2 tokenizer.json."""
    tokenizer_json = tokenizer.save(tmp_path / "tok").read_bytes()
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,127.0.0.2,localhost")
    with HubServer() as server:
        server.add(MODEL_REPO, "v0.ckpt", random.Random(3).randbytes(400_000))
        server.add(TOKENIZER_REPO, "tokenizer.json", tokenizer_json)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_download_shows_progress_then_reports_a_bad_checkpoint(
    qtbot, window, hub: HubServer, isolated_data_dir: Path
) -> None:
    manager = window.model
    manager.download()
    download = manager.download_job
    assert download is not None and not download.cancel.is_set()
    qtbot.waitUntil(lambda: manager.download_job is None, timeout=30000)
    assert download.job.ended
    ckpt = isolated_data_dir / "models" / "v0" / "v0.ckpt"
    assert ckpt.read_bytes() == hub.state.files[MODEL_REPO]["v0.ckpt"].data
    # The download is loaded at once; random bytes are refused with a one-line reason, clips still work.
    qtbot.waitUntil(lambda: manager.state == "failed", timeout=30000)
    assert manager.description.startswith("Model: not loaded — ")
    assert "\n" not in manager.description and "v0.ckpt" in manager.description
    assert window.model_label.text() == manager.description
    assert window.panel_a.open_button.isEnabled()


def test_cancelled_download_keeps_the_app_usable(qtbot, window, hub: HubServer) -> None:
    manager = window.model
    manager.download()
    manager.download_job.cancel.set()
    qtbot.waitUntil(lambda: manager.download_job is None, timeout=30000)
    assert manager.state in ("not installed", "loading", "failed")


def test_model_menu_lists_the_known_models_and_downloads_the_chosen_one(
    qtbot, window, hub: HubServer, isolated_data_dir: Path, tokenizer
) -> None:
    from mellow.model_files import KNOWN_MODELS

    models = window.view_actions.models
    assert list(models) == list(KNOWN_MODELS) == ["v0", "v0_s"]
    assert all("not installed" in a.text() for a in models.values())
    assert models["v0_s"].toolTip().startswith(KNOWN_MODELS["v0_s"])
    assert "mellow download --model v0_s" in models["v0_s"].toolTip()
    # v0_s installed by hand (a file that is not a real checkpoint): choosing it loads it, and says why not.
    folder = isolated_data_dir / "models" / "v0_s"
    tokenizer.save(folder / "tokenizer")
    (folder / "v0_s.ckpt").write_bytes(b"not a checkpoint")
    models["v0_s"].trigger()
    assert window.settings.value("model/name") == "v0_s" and window.model.download_job is None
    qtbot.waitUntil(lambda: window.model.state == "failed", timeout=30000)
    assert "v0_s.ckpt" in window.model.description
    assert models["v0_s"].text() == "Mellow v0_s" and models["v0_s"].isChecked()
    download = window.findChild(type(models["v0"]), "action_download_model")
    assert download.text() == "&Download Mellow v0_s…"
    # v0 is not installed: choosing it downloads v0.ckpt into models/v0, then loads it.
    models["v0"].trigger()
    assert window.model.download_job is not None
    qtbot.waitUntil(lambda: window.model.download_job is None, timeout=30000)
    assert (isolated_data_dir / "models" / "v0" / "v0.ckpt").read_bytes() == hub.state.files[MODEL_REPO][
        "v0.ckpt"].data
    qtbot.waitUntil(lambda: window.model.state == "failed" and "v0.ckpt" in window.model.description,
                    timeout=30000)
    assert models["v0"].isChecked() and models["v0"].text() == "Mellow v0"
