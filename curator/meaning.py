"""What a text means, beyond its words: sentence embeddings for the story judgement.

"Global IT outage hits airlines" and "CrowdStrike shares tumble as botched update sparks outage"
share no rare word, yet report one event. A sentence embedding places texts that say the same
thing close together whatever their words. curator uses WordLlama's `l2_supercat` model: a
static embedding (one vector of 256 values per token of Llama 2's tokenizer, trained so that the
mean of a text's token vectors places paraphrases together), as the `wordllama` wheel ships it:
its weights (16 MB, float16) and its tokenizer are inside the wheel, so nothing is downloaded at
run time. A text's embedding is the mean of its tokens' rows, normalised: tens of microseconds,
where a network's forward pass costs milliseconds. The package's own loader is not used: importing
it brings pydantic and requests (a quarter of a second), and it looks for the tokenizer where the
wheel does not put it, then asks the network for it. A token's row is read from the wheel's file
the first time a text has it and kept (`Rows`): a process holds the rows of the tokens it met, not
the pages of the whole table that a memory map would keep resident.

Pure: no I/O but reading the package's own files, once per process, on first use.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

#: The model's name in the wheel and how many of its dimensions are used (the model is trained
#: so that its first 64, 128 or 256 dimensions each make an embedding; 256 separate the labeled
#: sets' near misses best: README "Stories").
MODEL = "l2_supercat"
DIMS = 256
#: Bytes per embedding: DIMS float16 values.
SIZE = DIMS * 2


class Encoder(NamedTuple):
    tokenizer: Any  # tokenizers.Tokenizer
    table: Rows     # the rows of the tokens met, read from the file as needed


class Rows:
    """The table's rows (float16, DIMS of each), read from its file when a token first needs
    one and kept, at most KEPT of them (then all are dropped and read again as needed).

    A memory map of the whole table kept every page a token had touched (4 KB holds 8 rows):
    a poll's news met a few thousand tokens, spread over nearly the table's 16 MB. The rows
    are the file's own bytes, so an embedding is the same, bit for bit."""

    #: Rows kept at most: 4 MB (a first poll of 10,000 news feeds meets fewer tokens).
    KEPT = 8192

    def __init__(self, path: Path, offset: int, rows: int, cols: int) -> None:
        import numpy as np

        self.path = path
        self._offset = offset
        self._stride = cols * 2  # bytes of one row in the file
        self._rows = rows
        self._slot = np.full(rows, -1, dtype=np.int32)  # where each token's row is kept
        self._kept = np.empty((self.KEPT, DIMS), dtype="<f2")
        self._used = 0
        self._fd: tuple[int, int] | None = None  # (the process, its descriptor of the file)

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, ids: Sequence[int]) -> Any:
        """The rows of these tokens, in order (each < len(self)), as an array (len, DIMS)."""
        import numpy as np

        at = np.asarray(ids, dtype=np.intp)
        slots = self._slot[at]
        if (slots < 0).any():
            missing = list(dict.fromkeys(int(i) for i in at[slots < 0]))
            if self._used + len(missing) > self.KEPT:  # full: start over
                self._slot.fill(-1)
                self._used = 0
                missing = list(dict.fromkeys(int(i) for i in at))
            if len(missing) > self.KEPT:  # more tokens than are kept: read, keep none
                rows = dict(zip(missing, self._read(missing), strict=True))
                return np.array([np.frombuffer(rows[int(i)], dtype="<f2") for i in at],
                                dtype="<f2").reshape(len(at), DIMS)
            for token, row in zip(missing, self._read(missing), strict=True):
                self._kept[self._used] = np.frombuffer(row, dtype="<f2")
                self._slot[token] = self._used
                self._used += 1
            slots = self._slot[at]
        return self._kept[slots]

    def _read(self, tokens: Sequence[int]) -> list[bytes]:
        """These tokens' rows (their first DIMS values), from the file."""
        import os

        size = DIMS * 2
        if self._fd is None or self._fd[0] != os.getpid():  # once per process
            self._fd = (os.getpid(), os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)))
        fd = self._fd[1]
        rows = [os.pread(fd, size, self._offset + token * self._stride) for token in tokens]
        if any(len(row) != size for row in rows):
            raise ValueError(f"{self.path}: shorter than its header says")
        return rows


def files() -> tuple[Path, Path]:
    """The wheel's weights and tokenizer, found without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the wordllama package is not installed (curator's meaning signal "
                           "needs it; or set stories.meaning: false)")
    root = Path(next(iter(spec.submodule_search_locations)))
    return (root / "weights" / f"{MODEL}_{DIMS}.safetensors",
            root / "tokenizers" / f"{MODEL}_tokenizer_config.json")


def _table(path: Path) -> Rows:
    """The file's one float16 tensor, its rows read as needed: a safetensors file is an 8-byte
    header size, a JSON header giving each tensor's dtype, shape and byte range, then the data."""
    import json

    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    entry = header["embedding.weight"]
    start, end = entry["data_offsets"]
    rows, cols = entry["shape"]
    if entry["dtype"] != "F16" or end - start != rows * cols * 2 or cols < DIMS:
        raise ValueError(f"{path}: not the float16 table of {DIMS} dimensions expected")
    if path.stat().st_size < 8 + size + end:
        raise ValueError(f"{path}: shorter than its header says")
    return Rows(path, 8 + size + start, rows, cols)


@lru_cache(maxsize=1)
def _encoder() -> Encoder:
    from tokenizers import Tokenizer

    weights, tokens = files()
    return Encoder(Tokenizer.from_file(str(tokens)), _table(weights))


def warm() -> None:
    """Load the encoder now (about a tenth of a second of CPU, mostly the tokenizer)."""
    embed(["warm"])


def embed(texts: Sequence[str]) -> list[bytes]:
    """Each text's embedding: the mean of its tokens' vectors, L2-normalised, as SIZE bytes
    (float16); a text with no token has none (zeros)."""
    if not texts:
        return []
    import numpy as np

    tokenizer, table = _encoder()
    known = len(table)
    divide, sqrt, count = np.true_divide, np.sqrt, np.intp
    out = []
    for text in texts:
        # One text at a time: the batch call would start the tokenizer's thread pool, which a
        # forked process must not inherit; a title and lede take a few microseconds.
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        ids = [i for i in ids if i < known]
        if not ids:
            out.append(bytes(SIZE))
            continue
        # np.mean(axis=0) and np.linalg.norm as those functions compute them (a float32 sum
        # divided in place by the count; the square root of the dot product), without their
        # Python wrappers: a third of an embedding's cost besides the tokenizer's.
        vector = table[ids].astype(np.float32).sum(axis=0)
        divide(vector, count(len(ids)), out=vector, casting="unsafe")
        norm = float(sqrt(vector.dot(vector)))
        out.append((vector / norm if norm else vector).astype("<f2").tobytes())
    return out


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

    return float(np.frombuffer(a, "<f2").astype(np.float32)
                 @ np.frombuffer(b, "<f2").astype(np.float32))
