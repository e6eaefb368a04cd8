"""Numbered schema migrations. A released migration is never edited: add a new one."""

from __future__ import annotations

import json

from sqlite_utils import Database, Migrations

from ..schema import MIGRATION_SET, MIGRATIONS

migrations = Migrations(MIGRATION_SET)

#: The number of migrations this version knows; a database that has applied more is newer.
SCHEMA_VERSION = len(MIGRATIONS)


def _run(db: Database, script: str) -> None:
    # executescript() would COMMIT the migration's transaction first; run statement by statement.
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migrations(name="0001_initial")
def m0001_initial(db: Database) -> None:
    """Sources with health, every entry, candidates by canonical URL, topics, review log, editors."""
    _run(db, """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,          -- as written in feeds.yaml: the source's identity
            url_in_use TEXT NOT NULL,          -- moves on 301/308
            name TEXT,                         -- from feeds.yaml
            title TEXT,                        -- the feed's own title
            link TEXT,                         -- the feed's site
            in_config INTEGER NOT NULL DEFAULT 1,
            interval INTEGER,                  -- seconds, from feeds.yaml
            interval_hint INTEGER,             -- seconds, from <ttl> / sy:updatePeriod
            max_age INTEGER,                   -- seconds, from Cache-Control
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,                    -- sha256 of the last parsed body
            status INTEGER,
            last_polled TEXT,
            last_ok TEXT,
            failing_since TEXT,
            next_due TEXT,
            retry_after TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            disabled TEXT,
            added TEXT NOT NULL
        );
        CREATE INDEX sources_due ON sources (in_config, next_due);

        CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources (id),
            key TEXT NOT NULL,
            url TEXT,                          -- canonical article URL
            link TEXT,
            title TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',  -- sanitised HTML
            content TEXT NOT NULL DEFAULT '',  -- sanitised HTML
            text TEXT NOT NULL DEFAULT '',     -- plain text of summary and content
            author TEXT,
            published TEXT,
            updated TEXT,
            hash TEXT NOT NULL,                -- detects changed title/summary/content/link
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            UNIQUE (source_id, key)
        );
        CREATE INDEX entries_url ON entries (url);
        CREATE INDEX entries_first_seen ON entries (first_seen);

        CREATE TABLE entry_topics (
            entry_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            PRIMARY KEY (entry_id, topic)
        ) WITHOUT ROWID;

        CREATE TABLE candidates (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            entry_id INTEGER REFERENCES entries (id) ON DELETE SET NULL,  -- the entry that made it a candidate
            title TEXT NOT NULL DEFAULT '',
            published TEXT,
            sort_time TEXT NOT NULL,           -- published, else first seen: "newest first"
            first_seen TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new'
                CHECK (status IN ('new', 'featured', 'rejected')),
            note TEXT,
            guid TEXT,                         -- stable for the life of a feature
            featured_at TEXT,
            note_updated_at TEXT,
            changed_by TEXT,
            changed_at TEXT
        );
        CREATE INDEX candidates_status_sort ON candidates (status, sort_time);
        CREATE INDEX candidates_featured ON candidates (status, featured_at);

        CREATE TABLE candidate_topics (
            candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            PRIMARY KEY (candidate_id, topic)
        ) WITHOUT ROWID;
        CREATE INDEX candidate_topics_topic ON candidate_topics (topic, candidate_id);

        CREATE TABLE review_log (
            id INTEGER PRIMARY KEY,
            candidate_id INTEGER NOT NULL,
            action TEXT NOT NULL,              -- feature, edit-note, reject, reset
            editor TEXT NOT NULL,
            at TEXT NOT NULL,
            note TEXT
        );
        CREATE INDEX review_log_candidate ON review_log (candidate_id, id);

        CREATE TABLE editors (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            created TEXT NOT NULL
        );

        CREATE TABLE state (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        """)


@migrations(name="0002_indexes_for_retention")
def m0002_indexes_for_retention(db: Database) -> None:
    """Indexes only: retention deletes old entries without scanning the whole table.

    entries.last_seen serves the prune's range; candidates.entry_id serves the foreign key's
    ON DELETE SET NULL (without it, every deleted entry scanned all the candidates) and the update
    of a changed entry's candidate; candidates.sort_time lists every status newest first without
    sorting them all.
    """
    _run(db, """
        CREATE INDEX entries_last_seen ON entries (last_seen);
        CREATE INDEX candidates_entry ON candidates (entry_id);
        CREATE INDEX candidates_sort ON candidates (sort_time)
        """)


@migrations(name="0003_note_html_cache")
def m0003_note_html_cache(db: Database) -> None:
    """Each candidate's note as rendered HTML, and what it was rendered from.

    A publish that has to render the feeds then loads the Markdown renderer only for notes that
    changed. note_html_key names the note text, the curator version and the rendering revision
    that rendered it (see core.note_html_key): a different key means the cached HTML is stale. The note stays the
    truth; clearing both columns loses nothing.
    """
    _run(db, """
        ALTER TABLE candidates ADD COLUMN note_html TEXT;
        ALTER TABLE candidates ADD COLUMN note_html_key TEXT
        """)


@migrations(name="0004_activity_log")
def m0004_activity_log(db: Database) -> None:
    """Who re-enabled a source and who published, kept in the database, not only the process log.

    One append-only table for the actions that are not about a candidate, not a table per kind:
    both are rare, carry the same facts (what, who, when, a line of detail) and are read by action,
    so a second table would add only a second copy of the same code. source_id is set for actions
    on a source (enable) and NULL for the feed (publish); editor is NULL when curator acted by
    itself (`curator run` publishing). They stay out of review_log:
    its newest id is the publish marker (Store.change_marker), so a publish logged there would
    itself look like an unpublished change. The two indexes are the two pages' queries: the
    newest publishes (Published), the newest enable of each source (Sources).

    The desk kept only its own last publish, in the state key web_last_publish; it becomes the
    log's first row, so an upgrade does not forget who published last.
    """
    _run(db, """
        CREATE TABLE activity_log (
            id INTEGER PRIMARY KEY,
            action TEXT NOT NULL,              -- enable, publish
            source_id INTEGER,                 -- the source acted on; NULL for publish
            editor TEXT,                       -- NULL: curator itself (the scheduler)
            at TEXT NOT NULL,
            detail TEXT                        -- enable: what it cleared; publish: "N items"
        );
        CREATE INDEX activity_log_action ON activity_log (action, id);
        CREATE INDEX activity_log_source ON activity_log (action, source_id, id)
        """)
    row = db.execute("SELECT value FROM state WHERE key = 'web_last_publish'").fetchone()
    if row is None:
        return
    try:
        last = json.loads(row[0] or "")
        editor, at, items = str(last["editor"]), str(last["at"]), int(last["items"])
    except (ValueError, TypeError, KeyError):
        return  # not what the desk wrote: leave it be rather than invent a record
    db.execute("INSERT INTO activity_log (action, editor, at, detail) VALUES ('publish', ?, ?, ?)",
               [editor, at, f"{items} item{'' if items == 1 else 's'}"])
    db.execute("DELETE FROM state WHERE key = 'web_last_publish'")


@migrations(name="0005_stories")
def m0005_stories(db: Database) -> None:
    """Stories: the other articles of a candidate's story, and the index that finds stories.

    A URL is either a candidate's own or one of a story's other articles, never both.
    Candidates from before this migration have no keys: they stay as they are, and entries
    arriving from now on group with the candidates made from now on.
    """
    _run(db, """
        CREATE TABLE story_articles (
            url TEXT PRIMARY KEY,              -- an article of the story other than candidates.url
            candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
            added TEXT NOT NULL
        );
        CREATE INDEX story_articles_candidate ON story_articles (candidate_id, added);

        CREATE TABLE story_keys (
            key TEXT NOT NULL,                 -- a rare term or a figure of one of its articles
            first_seen TEXT NOT NULL,          -- the story's: only stories in the window count
            candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
            PRIMARY KEY (key, first_seen, candidate_id)
        ) WITHOUT ROWID;
        CREATE INDEX story_keys_seen ON story_keys (first_seen);
        CREATE INDEX story_keys_candidate ON story_keys (candidate_id)
        """)


@migrations(name="0006_editor_session_generation")
def m0006_editor_session_generation(db: Database) -> None:
    """A per-editor session generation: a session is valid only for the generation it began in.

    The session cookie is signed, not stored, so signing out cannot delete it; bumping the
    generation (at sign-out, or with a new password) ends every copy of it instead.
    """
    _run(db, "ALTER TABLE editors ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0")


@migrations(name="0007_relevance")
def m0007_relevance(db: Database) -> None:
    """The learned queue: each candidate's score, suggestions, and the model they come from.

    score is kept on the candidate so that listing by score reads one indexed column and never
    loads the model; a candidate stored before this migration gets the score of its topic matches
    (what curator gives before any decision), and the next poll or rematch scores it again.
    suggested marks a candidate that no topic matched but the model did; suggestion keeps why
    (JSON: how many featured items it is like, and its strongest words) for the desk.
    relevance_model holds one model: its weights as compressed JSON (never a pickle, so reading
    it runs no code), and the fingerprint of the decisions it learned from.
    """
    _run(db, """
        ALTER TABLE candidates ADD COLUMN score REAL;
        ALTER TABLE candidates ADD COLUMN suggested INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE candidates ADD COLUMN suggestion TEXT;
        UPDATE candidates SET score = (SELECT count(*) * 1.0 / (count(*) + 1)
            FROM candidate_topics t WHERE t.candidate_id = candidates.id);
        CREATE INDEX candidates_status_score ON candidates (status, score);
        CREATE INDEX candidates_unscored ON candidates (id) WHERE score IS NULL;
        CREATE TABLE relevance_model (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            format INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,
            trained_at TEXT NOT NULL,
            model BLOB NOT NULL,               -- zlib-compressed JSON: intercept, weights
            meta TEXT NOT NULL DEFAULT '{}'    -- JSON: how many examples of each kind
        )
        """)


@migrations(name="0008_search_index")
def m0008_search_index(db: Database) -> None:
    """Full-text search over every entry: an FTS5 index of title and plain text.

    The entries table is the index's content (FTS5 keeps only the index, not a second copy of
    the text), and triggers keep it in step with every insert, update and delete, whichever
    code writes the entries. An update indexes again only when the title or text changed: a
    poll touches last_seen on every entry it sees again. `rebuild` indexes what is already
    stored. Porter stemming lets "fine" find "fined" and "fines"; diacritics fold away.
    """
    db.execute("""
        CREATE VIRTUAL TABLE entries_fts USING fts5(
            title, text, content='entries', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2')""")
    db.execute("""
        CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
            INSERT INTO entries_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
        END""")
    db.execute("""
        CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
            INSERT INTO entries_fts (entries_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
        END""")
    db.execute("""
        CREATE TRIGGER entries_fts_update AFTER UPDATE OF title, text ON entries
        WHEN old.title IS NOT new.title OR old.text IS NOT new.text BEGIN
            INSERT INTO entries_fts (entries_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
            INSERT INTO entries_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
        END""")
    db.execute("INSERT INTO entries_fts (entries_fts) VALUES ('rebuild')")


@migrations(name="0009_candidate_seen")
def m0009_candidate_seen(db: Database) -> None:
    """Who marked a new candidate as seen, and when: the desk's New tab leaves seen ones out.

    Seen is a note for the editors, not a decision: it stays out of review_log (whose newest id
    is the publish marker) and clears when the candidate is put back to new.
    """
    _run(db, """
        ALTER TABLE candidates ADD COLUMN seen_at TEXT;
        ALTER TABLE candidates ADD COLUMN seen_by TEXT
        """)


@migrations(name="0010_story_article_ids")
def m0010_story_article_ids(db: Database) -> None:
    """A story's articles get an explicit id, in the order they were added (their rowid until now).

    The change marker (the newest article added to a story) and the order of a story's articles
    read it; `rowid` is SQLite's alone, and the same statements run on PostgreSQL. The URL stays
    unique: an article belongs to one story.
    """
    _run(db, """
        CREATE TABLE story_articles_new (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
            added TEXT NOT NULL
        );
        INSERT INTO story_articles_new (id, url, candidate_id, added)
            SELECT rowid, url, candidate_id, added FROM story_articles ORDER BY rowid;
        DROP TABLE story_articles;
        ALTER TABLE story_articles_new RENAME TO story_articles;
        CREATE INDEX story_articles_candidate ON story_articles (candidate_id, added)
        """)


@migrations(name="0011_claims_and_login_limits")
def m0011_claims_and_login_limits(db: Database) -> None:
    """Work shared by several processes on one database: poll claims and the desk's login limits.

    A poller claims a due source before fetching it: claimed_by names the poller (host, process
    and round), claimed_until is when the claim lapses unless renewed (NULL: not claimed). The
    outcome's write clears claimed_until; claimed_by stays as the last poller's name.
    login_limits holds the desk's sign-in counters (see web/security.py), so every `curator web`
    process counts the same attempts: a back-off row has n failures, `at` the time it ends
    (NULL while none) and `since` when a password check began (NULL when none is running); a
    bucket row has n tokens left, counted at `at`. Times are seconds since the epoch.
    """
    _run(db, """
        ALTER TABLE sources ADD COLUMN claimed_by TEXT;
        ALTER TABLE sources ADD COLUMN claimed_until TEXT;
        CREATE TABLE login_limits (
            key TEXT PRIMARY KEY,
            n REAL NOT NULL,
            at REAL,
            since REAL
        );
        CREATE INDEX login_limits_at ON login_limits (at)
        """)


@migrations(name="0012_search_index_after_writes")
def m0012_search_index_after_writes(db: Database) -> None:
    """The search index written once per transaction, not by a trigger on every insert.

    Indexing each entry as it was inserted cost about six times what indexing a transaction's
    entries together does (FTS5 wrote a segment at every source's savepoint): new entries are
    now indexed in bulk, before a commit or at a poll's end (store/searchindex.py). The
    update and delete triggers stay, for indexed entries only: an entry not indexed yet is
    indexed as it is when its turn comes.
    """
    from .searchindex import TRIGGERS

    for name in ("entries_fts_insert", "entries_fts_delete", "entries_fts_update"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql in TRIGGERS:
        db.execute(sql)


@migrations(name="0013_entries_compressed_with_lz4")
def m0013_entries_compressed_with_lz4(db: Database) -> None:
    """PostgreSQL compresses an entry's long text with lz4 (see pg_schema.py); SQLite does
    not compress: nothing changes here."""


@migrations(name="0014_search_off_the_write_path")
def m0014_search_off_the_write_path(db: Database) -> None:
    """PostgreSQL's search vectors written after a poll's entries, not with each one (see
    pg_schema.py). SQLite's index already is (0012): nothing changes here."""


@migrations(name="0015_search_trigger_when_needed")
def m0015_search_trigger_when_needed(db: Database) -> None:
    """PostgreSQL's search trigger fires only for the rows whose vector it computes (see
    pg_schema.py). SQLite has no such trigger: nothing changes here."""


#: Migrations that change nothing in a SQLite file: an upgrade made of only these keeps no
#: copy of the file from before it (`Base._migrate`).
NOTHING_ON_SQLITE = frozenset({"0013_entries_compressed_with_lz4", "0014_search_off_the_write_path",
                               "0015_search_trigger_when_needed"})


def registered() -> list[str]:
    """Every migration this version knows, in order: those pending on an empty database."""
    return [m.name for m in migrations.pending(Database(memory=True))]


# schema.MIGRATIONS lets the store skip importing this module when nothing is pending; the two
# lists must agree, or an up-to-date database would look out of date (or the reverse).
assert tuple(registered()) == MIGRATIONS, "update curator/schema.py"
