"""Loading a command's modules without the cyclic garbage collector walking them meanwhile.

Importing a module makes thousands of objects (functions, classes, their dicts) that all live to
the end of the process. Each of those allocations counts towards the collector's next young
collection, and each collection walks the objects made since the last one, moves them up a
generation, and walks them again there, freeing next to nothing: loading what `curator candidates
--json` needs on PostgreSQL set off about 80 collections, what an all-304 poll needs about 180,
several per cent of either command's CPU. So the commands that are mostly start-up load their
modules and open their database inside `loading()`: the collector is held off, reference counting
frees everything else as before, and the collector is on again (as it was) when the block ends;
the next collection then walks the new objects once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a block loads modules; as it was after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
