"""Safe checkpoint reading, strict loading, conversion to safetensors."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from mellow.errors import CheckpointError
from mellow.model.checkpoint import (
    CheckpointMismatch,
    convert_to_safetensors,
    load_checkpoint_into,
    read_state_dict,
    safetensors_sibling,
)


class Toy(nn.Module):
    """Small stand-in with the features that matter: a tied head, BatchNorm buffers (int64 counter)."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, width)
        self.lin = nn.Linear(width, width)
        self.bn = nn.BatchNorm1d(width)
        self.head = nn.Linear(width, 10, bias=False)
        self.head.weight = self.embed.weight


def _toy(seed: int = 0) -> Toy:
    torch.manual_seed(seed)
    model = Toy()
    with torch.no_grad():
        model.bn.running_mean.normal_()
        model.bn.num_batches_tracked.fill_(7)
    return model


def _assert_same(model: nn.Module, reference: nn.Module) -> None:
    ours, theirs = model.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


@pytest.mark.parametrize("prefix", ["", "module."])
def test_ckpt_loads_with_and_without_module_prefix(tmp_path: Path, prefix: str) -> None:
    source = _toy(1)
    path = tmp_path / "m.ckpt"
    torch.save({prefix + k: v for k, v in source.state_dict().items()}, path)
    state = read_state_dict(path)
    assert set(state) == set(source.state_dict())
    target = _toy(2)
    assert load_checkpoint_into(target, path) is target
    _assert_same(target, source)
    assert target.head.weight is target.embed.weight  # still tied


def test_wrapped_and_in_memory_state_dicts(tmp_path: Path) -> None:
    source = _toy(1)
    path = tmp_path / "wrapped.pt"
    torch.save({"state_dict": source.state_dict(), "epoch": 3}, path)
    target = _toy(2)
    load_checkpoint_into(target, path)
    _assert_same(target, source)
    other = _toy(3)
    load_checkpoint_into(other, {"module." + k: v for k, v in source.state_dict().items()})
    _assert_same(other, source)


def test_convert_to_safetensors_stores_tied_weight_once_and_is_preferred(tmp_path: Path) -> None:
    from safetensors import safe_open

    source = _toy(1)
    ckpt = tmp_path / "v.ckpt"
    torch.save({"module." + k: v for k, v in source.state_dict().items()}, ckpt)
    out = convert_to_safetensors(ckpt)
    assert out == tmp_path / "v.safetensors"
    with safe_open(str(out), framework="pt") as f:
        stored = set(f.keys())
    assert "head.weight" not in stored and "embed.weight" in stored  # one of the tied pair
    state = read_state_dict(out)
    assert state["head.weight"] is state["embed.weight"]
    target = _toy(2)
    load_checkpoint_into(target, out)
    _assert_same(target, source)

    # The sibling is read instead of the .ckpt while the .ckpt is unchanged: prove it by garbling the .ckpt
    # and keeping its size and modification time.
    assert safetensors_sibling(ckpt) == out
    st = ckpt.stat()
    ckpt.write_bytes(os.urandom(st.st_size))
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns))
    target = _toy(3)
    load_checkpoint_into(target, ckpt)
    _assert_same(target, source)

    # A changed .ckpt makes the sibling stale: the .ckpt itself is read again.
    newer = _toy(4)
    torch.save(newer.state_dict(), ckpt)
    assert safetensors_sibling(ckpt) is None
    target = _toy(5)
    load_checkpoint_into(target, ckpt)
    _assert_same(target, newer)


def test_file_problems_are_one_line_checkpoint_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.ckpt"
    torch.save(_toy().state_dict(), good)
    data = good.read_bytes()
    cases = {
        "missing": (tmp_path / "nope.ckpt", "not found"),
        "folder": (tmp_path, "folder"),
        "empty": (tmp_path / "empty.ckpt", "empty"),
        "random": (tmp_path / "random.ckpt", "not a checkpoint"),
        "text": (tmp_path / "notes.ckpt", "not a checkpoint"),
        "truncated": (tmp_path / "cut.ckpt", "corrupt or truncated"),
        "truncated safetensors": (tmp_path / "cut.safetensors", "truncated"),
        "list": (tmp_path / "list.pt", "not a state dict"),
        "non-tensor value": (tmp_path / "mixed.pt", "not a tensor"),
    }
    (tmp_path / "empty.ckpt").write_bytes(b"")
    (tmp_path / "random.ckpt").write_bytes(bytes(range(7, 256)) * 40)
    (tmp_path / "notes.ckpt").write_text("this is not a model\n")
    (tmp_path / "cut.ckpt").write_bytes(data[: len(data) // 2])
    st = convert_to_safetensors(good, tmp_path / "full.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(st[: len(st) // 2])
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    torch.save({"a": torch.zeros(2), "b": 3}, tmp_path / "mixed.pt")
    for name, (path, words) in cases.items():
        with pytest.raises(CheckpointError, match=words) as err:
            read_state_dict(path)
        assert "\n" not in str(err.value), name


class _Payload:
    """Unpickling this runs a shell command (what a hostile checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _ExecPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.subprocess
def test_hostile_pickles_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    raw = tmp_path / "raw.ckpt"
    raw.write_bytes(pickle.dumps({"w": _Payload(marker)}, protocol=2))
    zipped = tmp_path / "zipped.ckpt"
    torch.save({"w": torch.zeros(2), "x": _ExecPayload(marker)}, zipped)
    for path in (raw, zipped):
        with pytest.raises(CheckpointError, match="refusing to load") as err:
            read_state_dict(path)
        assert "\n" not in str(err.value)
        assert not marker.exists()
    # The payload is real: a plain pickle.load of the same file does run it.
    subprocess.run([sys.executable, "-c", f"import pickle; pickle.load(open({str(raw)!r}, 'rb'))"],
                   check=True, capture_output=True)
    assert marker.exists()


def test_other_architecture_is_reported_in_one_line(tmp_path: Path) -> None:
    state = _toy().state_dict()
    state.pop("bn.running_var")
    state["lin.weight"] = torch.zeros(3, 4)
    state["extra.bias"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_into(_toy(), state, what="Mellow v0")
    assert str(err.value) == (
        "checkpoint does not fit Mellow v0: 1 missing key (bn.running_var), 1 unexpected key (extra.bias), "
        "1 shape mismatch (lin.weight: [3, 4] vs [4, 4])"
    )
    other = nn.Sequential(nn.Linear(2, 2))
    path = tmp_path / "other.ckpt"
    torch.save(other.state_dict(), path)
    with pytest.raises(CheckpointError, match="another model") as err:
        load_checkpoint_into(_toy(), path)
    assert "\n" not in str(err.value)


def test_wrong_shapes_in_safetensors_leave_the_model_untouched(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.clone() for k, v in _toy().state_dict().items() if k != "head.weight"}
    state["embed.weight"] = torch.zeros(10, 5)
    path = tmp_path / "bad.safetensors"
    save_file(state, str(path))
    target = _toy(9)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"embed\.weight: \[10, 5\] vs \[10, 4\]"):
        load_checkpoint_into(target, path)
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key])


def test_tied_pair_must_agree(tmp_path: Path) -> None:
    state = {k: v.clone() for k, v in _toy().state_dict().items()}  # clone breaks the sharing
    state["head.weight"] += 1
    with pytest.raises(CheckpointError, match="tied"):
        load_checkpoint_into(_toy(), state)


def test_tiny_mellow_model_roundtrip_and_constructed_buffer_check(tmp_path: Path, tiny_model,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from mellow.model.model import MellowModel

    state = tiny_model.state_dict()
    path = tmp_path / "tiny.ckpt"
    torch.save({"module." + k: v for k, v in state.items()}, path)
    fresh = MellowModel(tiny_model.config).eval()
    with caplog.at_level(logging.WARNING, logger="mellow.model.checkpoint"):
        load_checkpoint_into(fresh, path)
    assert not caplog.records
    _assert_same(fresh, tiny_model)
    lm = fresh.caption_decoder.lm
    assert lm.lm_head.weight.data_ptr() == lm.model.embed_tokens.weight.data_ptr()

    mel_key = next(k for k in state if k.endswith("logmel_extractor.melW"))
    changed = dict(state)
    changed[mel_key] = state[mel_key] + 0.5
    with caplog.at_level(logging.WARNING, logger="mellow.model.checkpoint"):
        load_checkpoint_into(MellowModel(tiny_model.config).eval(), changed)
    assert any(mel_key in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_full_v0_checkpoint_layout(tmp_path: Path, v0_recipe_model, reference_dir: Path) -> None:
    """A published-style v0.ckpt ("module." keys, lm_head sharing embed_tokens' storage) loads strictly, and
    its safetensors conversion is smaller and loads the same."""
    state = v0_recipe_model.state_dict()
    expected_keys = [line.split("\t")[0] for line in
                     (reference_dir / "state_dict_v0.tsv").read_text().splitlines() if line.strip()]
    assert list(state) == expected_keys
    path = tmp_path / "v0.ckpt"
    torch.save({"module." + k: v for k, v in state.items()}, path)
    # Loading the model's own weights back changes nothing, but runs every check on the full key set.
    load_checkpoint_into(v0_recipe_model, path)
    lm = v0_recipe_model.caption_decoder.lm
    assert lm.lm_head.weight.data_ptr() == lm.model.embed_tokens.weight.data_ptr()
    out = convert_to_safetensors(path)
    embed_bytes = lm.model.embed_tokens.weight.numel() * 4
    all_bytes = sum(v.numel() * v.element_size() for v in state.values())  # counts the tied pair twice
    assert out.stat().st_size < all_bytes - embed_bytes // 2  # stored once
    again = read_state_dict(out)
    assert set(again) == set(expected_keys)
    for key in expected_keys:
        assert torch.equal(again[key], state[key]), key
    load_checkpoint_into(v0_recipe_model, out)
    load_checkpoint_into(v0_recipe_model, state)  # in memory, without the prefix


@pytest.mark.slow
def test_v0_mismatches_are_named(v0_recipe_model, tiny_model) -> None:
    """Nothing is copied when the checkpoint does not fit, so the shared model stays as it is."""
    state = dict(v0_recipe_model.state_dict())
    del state["caption_decoder.lm.model.norm.weight"]
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_into(v0_recipe_model, state)
    assert str(err.value) == ("checkpoint does not fit Mellow v0: 1 missing key "
                              "(caption_decoder.lm.model.norm.weight)")
    with pytest.raises(CheckpointError, match=r"Mellow v0: .*\d+ shape mismatches \(.*, and \d+ more\)") \
            as err:
        load_checkpoint_into(v0_recipe_model, tiny_model.state_dict())
    assert "\n" not in str(err.value)
    mismatch = err.value
    assert isinstance(mismatch, CheckpointMismatch) and len(mismatch.missing) > 12  # all of them, not just 12
