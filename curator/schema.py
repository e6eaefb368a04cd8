"""The names of the schema migrations this version knows, in order, without importing them.

Opening an up-to-date database then costs one query instead of importing sqlite-utils; the
migrations themselves (curator/store/migrations.py) load only when one is pending.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    "0001_initial",
    "0002_indexes_for_retention",
    "0003_note_html_cache",
    "0004_activity_log",
    "0005_stories",
    "0006_editor_session_generation",
    "0007_relevance",
    "0008_search_index",
    "0009_candidate_seen",
    "0010_story_article_ids",
    "0011_claims_and_login_limits",
    "0012_search_index_after_writes",
    "0013_entries_compressed_with_lz4",
    "0014_search_off_the_write_path",
    "0015_search_trigger_when_needed",
)
MIGRATION_SET = "curator"
