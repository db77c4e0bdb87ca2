"""Downloads against a local Hub look-alike (real HTTP, real huggingface_hub), and finding model files."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from mellow.download import DownloadCancelled, download_model, partial_path
from mellow.errors import CheckpointError, DownloadError, TokenizerError
from mellow.model_files import MODEL_REPO, TOKENIZER_REPO, ModelFiles, default_model_dir, find_model_files
from tests.helpers.hub import HubServer


def _bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _content(hub: HubServer, repo: str, name: str) -> bytes:
    return hub.state.files[repo][name].data


def test_download_fetches_every_file_and_reports_progress(hub: HubServer, env: Path) -> None:
    seen: dict[str, tuple[int, int | None]] = {}
    files = download_model(env / "models", progress=lambda n, done, total: seen.__setitem__(n, (done, total)))
    assert files == ModelFiles(env / "models" / "v0.ckpt", env / "models" / "tokenizer")
    assert files.checkpoint.read_bytes() == _content(hub, MODEL_REPO, "v0.ckpt")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"):
        assert (files.tokenizer / name).read_bytes() == _content(hub, TOKENIZER_REPO, name)
    assert not (files.tokenizer / "special_tokens_map.json").exists()  # the hub has none: skipped
    assert seen["v0.ckpt"] == (300_000, 300_000)
    assert not list((env / "models" / ".partial").glob("*.part"))
    if hub.state.cdn_base:  # the checkpoint came from the CDN host, without the Hub token
        cdn = [s for s in hub.seen if s.host == "cdn"]
        assert cdn and all(s.authorization is None for s in cdn)
        assert any(s.authorization == "Bearer hf_secret_test_token" for s in hub.seen if s.host == "hub")

    before = len(hub.seen)
    again = download_model(env / "models")
    assert again == files and len(hub.seen) == before  # everything in place: no network at all


def test_default_folder_then_find_model_files(hub: HubServer, env: Path) -> None:
    with pytest.raises(CheckpointError, match="mellow download"):
        find_model_files("v0")
    files = download_model()
    assert files.checkpoint == default_model_dir() / "v0.ckpt"
    assert default_model_dir() == env / "data" / "models" / "v0"
    assert find_model_files("v0") == files
    assert find_model_files(files.checkpoint) == files  # by path: tokenizer found next to it
    assert find_model_files(default_model_dir()) == files  # by folder


def test_resumes_from_a_partial_file(hub: HubServer, env: Path) -> None:
    f = hub.state.files[MODEL_REPO]["v0.ckpt"]
    part = partial_path(env / "m", "v0.ckpt", f.sha256)
    part.parent.mkdir(parents=True)
    part.write_bytes(f.data[:123_456])
    stale = partial_path(env / "m", "v0.ckpt", "0" * 64)  # an older version of the file
    stale.write_bytes(b"old")
    download_model(env / "m")
    assert not stale.exists()
    assert (env / "m" / "v0.ckpt").read_bytes() == f.data
    ranges = [s.range for s in hub.seen if s.method == "GET" and ("v0.ckpt" in s.path or "/cdn/" in s.path)]
    assert "bytes=123456-" in ranges
    assert not part.exists()


def test_dropped_connection_is_retried_in_the_same_run(hub: HubServer, env: Path) -> None:
    hub.state.drop_after["tokenizer.json"] = 10
    files = download_model(env / "m")
    expected = _content(hub, TOKENIZER_REPO, "tokenizer.json")
    assert (files.tokenizer / "tokenizer.json").read_bytes() == expected
    gets = [s for s in hub.seen if s.method == "GET" and s.path.endswith("/tokenizer.json")]
    assert len(gets) == 2


def test_cancel_keeps_the_partial_file_and_the_next_run_resumes(hub: HubServer, env: Path) -> None:
    big = hub.add(MODEL_REPO, "v0.ckpt", _bytes(25 << 20, 2))  # over 2 of huggingface_hub's 10 MiB chunks
    cancel = threading.Event()

    def progress(name: str, done: int, total: int | None) -> None:
        if name == "v0.ckpt" and done > 0:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="resume"):
        download_model(env / "m", progress=progress, cancel=cancel)
    assert not (env / "m" / "v0.ckpt").exists()
    kept = partial_path(env / "m", "v0.ckpt", big.sha256).stat().st_size
    assert 0 < kept < len(big.data)

    files = download_model(env / "m")
    assert files.checkpoint.read_bytes() == big.data
    assert f"bytes={kept}-" in [s.range for s in hub.seen]


def test_cancel_before_start_downloads_nothing(hub: HubServer, env: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadCancelled):
        download_model(env / "m", cancel=cancel)
    assert hub.seen == []


def test_offline_without_files_says_how_to_get_them(hub: HubServer, env: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE") as err:
        download_model(env / "m")
    assert "mellow download" in str(err.value) and "\n" not in str(err.value)
    assert hub.seen == []


def test_offline_uses_the_hugging_face_cache(hub: HubServer, env: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import hf_hub_download

    cache = env / "hf" / "hub"
    for repo, name in [(MODEL_REPO, "v0.ckpt"), (TOKENIZER_REPO, "tokenizer.json")]:
        hf_hub_download(repo, name, cache_dir=str(cache), endpoint=hub.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # found in place, without copying ...
    in_cache = find_model_files("v0")
    assert cache in in_cache.checkpoint.parents and (in_cache.tokenizer / "tokenizer.json").is_file()
    # ... and download_model fills its folder from the cache
    n = len(hub.seen)
    files = download_model(env / "m")
    assert files.checkpoint.read_bytes() == _content(hub, MODEL_REPO, "v0.ckpt")
    assert len(hub.seen) == n


def test_missing_file_repo_and_server_give_clear_errors(hub: HubServer, env: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    del hub.state.files[MODEL_REPO]["v0.ckpt"]
    with pytest.raises(DownloadError, match=r"soham97/Mellow .* has no file v0\.ckpt"):
        download_model(env / "m")
    del hub.state.files[MODEL_REPO]
    with pytest.raises(DownloadError, match="repository soham97/Mellow not found"):
        download_model(env / "m")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(DownloadError, match="cannot download") as err:
        download_model(env / "m")
    assert "\n" not in str(err.value)


def test_checksum_mismatch_is_refused(hub: HubServer, env: Path) -> None:
    if not hub.state.cdn_base:
        pytest.skip("needs the CDN host 127.0.0.2")
    hub.state.wrong_sha.add("v0.ckpt")
    with pytest.raises(DownloadError, match="checksum"):
        download_model(env / "m")
    assert not (env / "m" / "v0.ckpt").exists()


def test_find_model_files_paths(env: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        find_model_files(env / "nope.ckpt")
    folder = env / "two"
    folder.mkdir()
    (folder / "a.ckpt").write_bytes(b"x")
    (folder / "a.safetensors").write_bytes(b"x")  # converted sibling: not a second checkpoint
    tok = folder / "tokenizer"
    tok.mkdir()
    (tok / "tokenizer.json").write_text("{}")
    assert find_model_files(folder) == ModelFiles(folder / "a.ckpt", tok)
    (folder / "b.ckpt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="several checkpoints"):
        find_model_files(folder)
    with pytest.raises(TokenizerError, match="not found"):
        find_model_files(folder / "a.ckpt", tokenizer=env / "missing.gguf")
