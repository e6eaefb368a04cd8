"""All of curator's SQL, split by domain behind one `Store`.

Each module holds one domain's tables and statements: `sources` (sources and their health),
`entries` and `candidates` (what polls store and what editors review), `editors` (accounts),
`logs` (the review and activity logs), `state` (small named values), on `base` (opening,
migrating, the transaction helpers). Another backend implements the same public methods.
"""

from __future__ import annotations

from .base import BUSY_TIMEOUT_S, check_backup
from .candidates import STATUSES, new_guid
from .editors import EditorStore
from .entries import SaveResult
from .imports import ImportStore
from .sources import to_source
from .state import StateStore

__all__ = ["BUSY_TIMEOUT_S", "STATUSES", "SaveResult", "Store", "check_backup",
           "new_guid", "to_source"]


class Store(ImportStore, EditorStore, StateStore):
    """One database: every domain's reads and writes, over one connection.

    EntryStore carries SourceStore (a poll's entries and its source's outcome are written in
    one transaction); both CandidateStore and SourceStore write the logs; ImportStore writes
    entries and candidates together.
    """
