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

`deferred()` is the other half: a module a library imports but the command never uses, put in
sys.modules with its code not yet run, which runs the first time something reads a name the
module does not have yet.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from types import ModuleType
from typing import Any


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


def deferred(name: str, parts: Sequence[str] = ()) -> ModuleType | None:
    """Put the module `name` in sys.modules without running its code; None if it is already
    there (or cannot be found). Its code runs, once, the first time a name it does not have
    yet is read from it, whichever thread reads it; then it is the whole module, as if
    imported then.

    An `import name` (or `import name.sub`, `from name import sub`) finds it and runs nothing:
    the import statement reads only the module's own attributes (`__spec__`), which it has;
    a `LazyLoader` module cannot be deferred so, since it loads at any attribute read. A
    package's `parts` are submodules that a name is looked for first (in their `__all__`), in
    order, each imported as it stands: a library that only takes `CancelledError` from asyncio
    then loads `asyncio.exceptions`, not the event loops' modules.
    """
    if name in sys.modules:
        return None
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    submodules: set[str] = set()
    for folder in spec.submodule_search_locations or ():
        with suppress(OSError):
            submodules.update(entry.partition(".")[0] for entry in os.listdir(folder))
    lock = threading.RLock()
    ran = False

    def whole() -> dict[str, Any]:
        nonlocal ran
        if not ran:
            ran = True
            assert spec is not None and spec.loader is not None
            try:
                spec.loader.exec_module(module)
            finally:
                if module.__dict__.get("__getattr__") is __getattr__:
                    del module.__dict__["__getattr__"]
        return module.__dict__

    def __getattr__(attr: str) -> Any:
        # A submodule: not here (the import system asks before it imports one).
        if attr in submodules:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        with lock:
            if attr in module.__dict__:  # another thread ran the module meanwhile
                return module.__dict__[attr]
            if not ran:
                for part in parts:
                    sub = importlib.import_module(f"{name}.{part}")
                    if attr in getattr(sub, "__all__", ()):
                        value = getattr(sub, attr)
                        setattr(module, attr, value)
                        return value
            try:
                return whole()[attr]
            except KeyError:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module
