"""The desk's one blueprint: login, the queue, a candidate, published items, sources, the feeds."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from markupsafe import Markup

from ..clock import iso
from ..config import Config, Follower
from ..core import MAX_NOTE_CHARS, Curator
from ..documents import candidate_score, suggestion_reason
from ..editing import Editing
from ..exceptions import PublishError, UsageError
from ..types import Candidate
from .security import LoginThrottle, safe_next
from .text import excerpt, highlight, marked, word_spans

log = logging.getLogger("curator.web")

bp = Blueprint("desk", __name__)

PAGE_SIZE = 25
STATUSES = ("new", "seen", "featured", "rejected", "all")  # "seen": new, marked seen
DENSITIES = ("comfortable", "compact")
BULK_MAX = 200  # ids one bulk action takes (a page shows PAGE_SIZE)
EXCERPT_CHARS = 280
CANDIDATE_TEXT_CHARS = 6000  # the page shows this much of the entry; the rest is at the original
PUBLISHES_SHOWN = 5  # the Published page's list of who published last
FEED_MAX_AGE = 300  # seconds readers' apps may reuse a feed before asking again (then a cheap 304)
# Endpoints anyone may reach; everything else needs a logged-in editor.
OPEN_ENDPOINTS = frozenset({"desk.login", "desk.rss", "desk.atom", "static"})


@dataclass
class Desk:
    """What the app keeps between requests (held in app.extensions)."""

    follower: Follower
    now: Any
    throttle: LoginThrottle
    etags: dict[tuple[str, int, int], str]
    etag_lock: threading.Lock

    @property
    def config(self) -> Config:
        """feeds.yaml as it is now: the desk follows edits, as `curator run` does, so the two
        never disagree about which sources are configured (the last good file while an edit
        does not load)."""
        return self.follower.current()


def desk() -> Desk:
    """This app's Desk."""
    return current_app.extensions["curator_desk"]  # type: ignore[no-any-return]


def curator() -> Curator:
    """This request's own Curator (its own SQLite connection; closed at teardown)."""
    if "curator" not in g:
        d = desk()
        g.curator = Curator(d.config, now=d.now)
    return g.curator  # type: ignore[no-any-return]


def close_curator(_exc: BaseException | None = None) -> None:
    """Close the request's Curator, if it opened one."""
    c = g.pop("curator", None)
    if c is not None:
        c.close()


def notify(text: str, cid: int | None = None, *, undo: bool = False,
           undo_post: tuple[str, dict[str, str]] | None = None) -> None:
    """A flash message for the next page; with a candidate id it links there. Its Undo button
    posts `undo_post` (an endpoint's URL and form fields), or with `undo` puts `cid` back."""
    message: dict[str, Any] = {"text": text}
    if cid is not None:
        message["id"] = cid
        if undo:
            undo_post = (url_for("desk.reset", cid=cid), {})
    if undo_post:
        message["undo"] = {"url": undo_post[0], "fields": undo_post[1]}
    # Flask stores any JSON-able message; its stubs say str.
    flash(message, "success")  # type: ignore[arg-type]


def editor() -> str:
    """The logged-in editor's name (only called on pages that require login)."""
    return str(g.editor)


# ------------------------------------------------------------------ the queue


def _arg(name: str, allowed: set[str] | tuple[str, ...], default: str | None) -> str | None:
    value = request.args.get(name) or default
    return value if value in allowed else default


class Marked:
    """A candidate as the templates show it: its fields, plus the title and excerpt marked up,
    the matched terms and, when featured, the note as text."""

    def __init__(self, c: Curator, candidate: Candidate, width: int = EXCERPT_CHARS,
                 words: tuple[str, ...] = ()) -> None:
        """`words` (a search) are marked in the title and the excerpt; topic terms only in the
        excerpt (a title is what editors look for on the page: it stays easy to read)."""
        self.candidate = candidate
        title = candidate.title or candidate.url or ""
        text = candidate.text or ""
        self.display_title = highlight(title, (), word_spans(title, words)) if words else title
        self.excerpt_marked = excerpt(text, c.highlight_spans(text), width,
                                      hits=word_spans(text, words))
        self.terms = c.matched_terms(title, text)
        self.where: dict[str, list[tuple[str, list[str]]]] = {}  # the candidate page fills it
        self.promoted_by: str | None = None
        self.score_value = candidate_score(candidate)
        self.why = suggestion_reason(candidate)
        self.note_text: Markup | None = None
        if candidate.status == "featured" and candidate.note:
            # The note as readers read it, reduced to text: no Markdown asterisks, no markup.
            import nh3

            self.note_text = Markup(nh3.clean(c.preview_note(candidate.note[:600]),
                                              tags=set()).strip())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.candidate, name)


def here() -> str:
    """This page's path and query, for forms that come back to it."""
    query = request.query_string.decode("latin-1")
    return request.path + ("?" + query if query else "")


def _topic_titles(c: Curator) -> dict[str, str]:
    return {t.name: t.title or t.name for t in c.config.topics}


def queue_url() -> str:
    """The queue as the editor last filtered it."""
    return safe_next(session.get("queue"), url_for("desk.queue"))


@bp.get("/")
def queue() -> Any:
    """Candidates, newest first, filtered by status, topic, source and words."""
    c = curator()
    topics = {t.name: t for t in c.config.topics}
    sources = sorted(((s.url, s.display_name) for s in c.stored_sources()),
                     key=lambda s: s[1].casefold())
    status = _arg("status", STATUSES, "new") or "new"
    topic = _arg("topic", set(topics), None)
    source = _arg("source", {u for u, _ in sources}, None)
    q = " ".join(request.args.get("q", "").split())[:200]
    sort = _arg("sort", ("newest", "score"), "newest") or "newest"
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    # New is what no editor has marked seen yet; Seen, the new ones someone has.
    seen = {"new": False, "seen": True}.get(status)
    rows = c.candidates(status="new" if seen is not None else status, topic=topic,
                        source=source, search=q or None, limit=PAGE_SIZE + 1,
                        offset=(page - 1) * PAGE_SIZE, sort=sort, seen=seen)
    more = len(rows) > PAGE_SIZE
    words = tuple(q.split())
    marked = [Marked(c, r, words=words) for r in rows[:PAGE_SIZE]]
    # The tabs count what each would show with these filters; the heading counts everything.
    totals = _tab_counts(c.counts())
    counts = _tab_counts(c.counts(topic=topic, source=source, search=q or None))
    filters = {k: v for k, v in (("status", status if status != "new" else None),
                                 ("topic", topic), ("source", source), ("q", q),
                                 ("sort", sort if sort != "newest" else None)) if v}

    def page_url(n: int) -> str:
        args = dict(filters, **({"page": str(n)} if n > 1 else {}))
        return url_for("desk.queue") + ("?" + urlencode(args) if args else "")

    here_url = page_url(page)
    session["queue"] = here_url
    status_urls = {}
    for s in STATUSES:
        args = {k: v for k, v in filters.items() if k != "status"}
        if s != "new":
            args = {"status": s, **args}
        status_urls[s] = url_for("desk.queue") + ("?" + urlencode(args) if args else "")
    return render_template(
        "queue.html", active="queue", rows=marked, status=status, topic=topic, source=source, q=q,
        sort=sort,
        page=page, topics=list(topics.values()), topic_titles=_topic_titles(c),
        sources=sources, counts=counts, totals=totals, filters=filters, status_urls=status_urls,
        prev_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if more else None, here_url=here_url, now=c.now(),
        density=_density())


def _tab_counts(counts: dict[str, int]) -> dict[str, int]:
    """Store counts (new includes seen) as the tabs show them (new excludes seen)."""
    out = dict(counts)
    out["all"] = counts["new"] + counts["featured"] + counts["rejected"]
    out["new"] = counts["new"] - counts["seen"]
    return out


def _density() -> str:
    value = session.get("density")
    return value if value in DENSITIES else "comfortable"


@bp.post("/prefs/density")
def density() -> Any:
    """Show the queue comfortable (title, excerpt, topics) or compact (a line per candidate)."""
    value = request.form.get("density", "")
    if value not in DENSITIES:
        value = "compact" if _density() == "comfortable" else "comfortable"
    session["density"] = value
    return redirect(safe_next(request.form.get("next"), url_for("desk.queue")))


def _ids(field: str) -> list[int]:
    """Candidate ids from a form: repeated fields or comma-separated, numbers only, capped."""
    out: list[int] = []
    for value in request.form.getlist(field):
        for part in value.split(","):
            part = part.strip()
            if part.isdigit() and len(part) < 12:
                out.append(int(part))
    if len(out) > BULK_MAX:
        raise UsageError(f"at most {BULK_MAX} candidates at once")
    return list(dict.fromkeys(out))


def _count(n: int, one: str = "candidate") -> str:
    return f"{n} {one}{'' if n == 1 else 's'}"


@bp.post("/bulk")
def bulk() -> Any:
    """Reject or mark seen the selected candidates (`scope=selected`) or all those shown
    (`scope=shown`); `reset` and `unseen` undo them. Each is recorded with the editor."""
    c = curator()
    action = request.form.get("action", "")
    if action not in ("reject", "seen", "unseen", "reset"):
        raise UsageError(f"unknown bulk action {action!r}")
    ids = _ids("shown" if request.values.get("scope") == "shown" else "ids")
    back = safe_next(request.form.get("next"), queue_url())
    if not ids:
        flash("Select some candidates first (or use the buttons for all shown).", "info")
        return redirect(back)
    who = editor()
    if action in ("seen", "unseen"):
        changed = Editing(c).mark_seen(ids, editor=who, seen=action == "seen")
        if action == "seen":
            text = f"Marked {_count(len(changed))} as seen."
        else:
            text = f"{_count(len(changed))} back among the new."
        _bulk_notify(text, changed, "unseen" if action == "seen" else None)
    else:
        changed = []
        kept = 0
        for cid in ids:
            row = c.candidate(cid)
            if action == "reject" and row.status == "featured":
                kept += 1  # a bulk reject never takes a published item down
                continue
            if row.status == ("rejected" if action == "reject" else "new"):
                continue
            (c.reject if action == "reject" else c.reset)(cid, editor=who)
            changed.append(cid)
        if action == "reject":
            text = f"Rejected {_count(len(changed))}."
            if kept:
                text += f" {_count(kept, 'featured candidate')} left as {'it was' if kept == 1 else 'they were'}."
        else:
            text = f"{_count(len(changed))} back in the queue."
        _bulk_notify(text, changed, "reset" if action == "reject" else None)
    log.info("%s: bulk %s of %d candidates (%d changed)", who, action, len(ids), len(changed))
    return redirect(back)


def _bulk_notify(text: str, ids: list[int], undo: str | None) -> None:
    fields = {"action": undo or "", "ids": ",".join(map(str, ids))}
    notify(text, undo_post=(url_for("desk.bulk"), fields) if undo and ids else None)


# ------------------------------------------------------------------ search everything stored


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        return 1


@bp.get("/search")
def search() -> Any:
    """Every stored entry matching the words, best match first, with a way into the queue."""
    from ..core import MAX_QUERY, SNIPPET_END, SNIPPET_START

    c = curator()
    q = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    page = _page()
    rows = c.search(q, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE) if q else []
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    for r in rows:
        r["snippet_marked"] = marked(r.get("snippet") or "", SNIPPET_START, SNIPPET_END)

    def page_url(n: int) -> str:
        args = {"q": q, **({"page": str(n)} if n > 1 else {})}
        return url_for("desk.search") + "?" + urlencode(args)

    return render_template(
        "search.html", active="search", q=q, rows=rows, page=page, here_url=here(),
        prev_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if more else None, now=c.now())


@bp.post("/e/<int:eid>/promote")
def promote(eid: int) -> Any:
    """Make a stored entry a candidate (no topic matched it), then open it to feature it."""
    c = curator()
    known = c.entry(eid)["candidate"]
    row = c.promote(eid, editor=editor())
    if known is None:
        notify(f"“{_title(row)}” is a candidate now.", row.id)
        log.info("%s promoted entry %d to candidate %d", editor(), eid, row.id)
    return redirect(url_for("desk.candidate", cid=row.id))


# ------------------------------------------------------------------ one candidate


def note_too_long(note: str) -> str | None:
    """Why a note cannot be saved because of its length, or None when it can."""
    if len(note) <= MAX_NOTE_CHARS:
        return None
    return (f"This note has {len(note):,} characters; a note can have at most "
            f"{MAX_NOTE_CHARS:,}. Shorten it by {len(note) - MAX_NOTE_CHARS:,} and try again: "
            "nothing was saved, and your draft is still here.")


def _candidate_page(cid: int, note: str | None = None, status: int = 200,
                    note_error: str | None = None) -> Any:
    c = curator()
    row = Marked(c, c.candidate(cid), CANDIDATE_TEXT_CHARS)
    row.where = c.matched_where(row.candidate)
    row.promoted_by = next((h.editor for h in row.history if h.action == "promote"), None)
    draft = (row.note or "") if note is None else note
    preview = Markup(c.preview_note(draft)) if draft.strip() and not note_error else None
    history = list(reversed(row.history))
    body = render_template("candidate.html", active="queue", c=row, note=draft, preview=preview,
                           history=history, back=queue_url(), max_note=MAX_NOTE_CHARS,
                           note_error=note_error,
                           topic_titles=_topic_titles(c), now=c.now())
    return body, status


@bp.get("/c/<int:cid>")
def candidate(cid: int) -> Any:
    """A candidate: its text, every source that carried it, the feature form and its history."""
    return _candidate_page(cid)


def _after_action(cid: int) -> Any:
    return redirect(safe_next(request.form.get("next"), url_for("desk.candidate", cid=cid)))


def _title(row: Candidate) -> str:
    title = row.title or row.url or f"#{row.id}"
    return title if len(title) <= 80 else title[:79] + "…"


@bp.post("/c/<int:cid>/feature")
def feature(cid: int) -> Any:
    """Feature with the note (or save an edited note); `action=preview` only shows it."""
    c = curator()
    note = request.form.get("note", "").replace("\r\n", "\n").strip()
    too_long = note_too_long(note)
    if too_long:
        # Refused whole, never cut short: the draft comes back in the form to be shortened.
        log.info("%s: note on candidate %d refused: %d characters", editor(), cid, len(note))
        return _candidate_page(cid, note=note, status=422, note_error=too_long)
    if request.form.get("action") == "preview":
        return _candidate_page(cid, note=note)
    before = c.candidate(cid)
    link = request.form.get("link") or None
    row = c.feature(cid, note, editor=editor(), link=link)
    if before.status == "featured":
        changed = (before.note or "") != (row.note or "")
        notify(f"Note saved on “{_title(row)}”." if changed
               else f"“{_title(row)}” is featured; the note is unchanged.", cid)
    else:
        notify(f"Featured “{_title(row)}”.", cid, undo=True)
    log.info("%s featured candidate %d", editor(), cid)
    return _after_action(cid)


@bp.post("/c/<int:cid>/reject")
def reject(cid: int) -> Any:
    """Reject (unfeatures it)."""
    row = curator().reject(cid, editor=editor())
    notify(f"Rejected “{_title(row)}”.", cid, undo=True)
    log.info("%s rejected candidate %d", editor(), cid)
    return _after_action(cid)


@bp.post("/c/<int:cid>/reset")
def reset(cid: int) -> Any:
    """Put back to new (unfeatures it; the note stays as a draft)."""
    row = curator().reset(cid, editor=editor())
    notify(f"“{_title(row)}” is back in the queue.", cid)
    log.info("%s reset candidate %d", editor(), cid)
    return _after_action(cid)


@bp.post("/c/<int:cid>/split")
def split(cid: int) -> Any:
    """Take one of the story's other articles out of it: a candidate of its own."""
    row = curator().split(cid, request.form.get("url", ""), editor=editor())
    notify(f"“{_title(row)}” is a candidate of its own now.", row.id)
    log.info("%s split candidate %d from %d", editor(), row.id, cid)
    return _after_action(cid)


@bp.post("/c/<int:cid>/merge")
def merge(cid: int) -> Any:
    """Join another candidate (by its number) to this story."""
    raw = request.form.get("other", "").strip().lstrip("#")
    if not raw.isdigit():
        raise UsageError(f"give the number of the candidate to merge, not {raw!r}")
    row = curator().merge(cid, int(raw), editor=editor())
    notify(f"#{raw} merged into “{_title(row)}”.", cid)
    log.info("%s merged candidate %s into %d", editor(), raw, cid)
    return _after_action(cid)


@bp.post("/preview")
def preview() -> Any:
    """The note rendered and sanitised exactly as the published feed will carry it."""
    note = request.form.get("note", "").replace("\r\n", "\n").strip()
    too_long = note_too_long(note)
    resp = jsonify(error=too_long) if too_long else jsonify(html=curator().preview_note(note))
    if too_long:
        resp.status_code = 422
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ------------------------------------------------------------------ publishing


def _file_info(path: Path) -> dict[str, Any]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return {"path": str(path), "exists": False}
    mtime = datetime.fromtimestamp(st.st_mtime).astimezone()
    return {"path": str(path), "exists": True, "size": st.st_size, "modified": iso(mtime)}


@bp.get("/published")
def published() -> Any:
    """The published items as readers see them, and the Publish button."""
    c = curator()
    items = [(cid, item, Markup(body)) for cid, item, body in c.published_preview()]
    out = c.config.output
    return render_template(
        "published.html", active="published", items=items, pending=c.needs_publish(),
        publishes=c.publishes(PUBLISHES_SHOWN), now=c.now(),
        files=[("RSS", url_for("desk.rss"), _file_info(out.rss)),
               ("Atom", url_for("desk.atom"), _file_info(out.atom))])


@bp.post("/publish")
def publish() -> Any:
    """Write the feeds now."""
    c = curator()
    try:
        result = c.publish(editor=editor())
    except PublishError as e:
        # Said on the page, where the editor can act on it (and in the log for whoever can).
        log.error("%s could not publish: %s", editor(), e)
        text = str(e)
        flash(text[0].upper() + text[1:], "error")
        return redirect(url_for("desk.published"))
    n = result["items"]
    what = f"{n} item{'' if n == 1 else 's'}"
    text = (f"Published {what}." if result["changed"]
            else f"Published {what}; the feeds were already up to date.")
    notify(text)
    log.info("%s published %s (changed: %s)", editor(), what, result["changed"])
    return redirect(url_for("desk.published"))


# ------------------------------------------------------------------ sources


@bp.post("/sources/enable")
def enable() -> Any:
    """Clear a source's disabled state and back-off."""
    c = curator()
    row = c.enable(request.form.get("source", ""), editor=editor()).source
    name = row.display_name
    notify(f"“{name}” is enabled; the next poll will fetch it.")
    log.info("%s re-enabled source %s", editor(), row.url)
    return redirect(url_for("desk.sources"))



# ------------------------------------------------------------------ the public feeds


def _etag(path: Path) -> tuple[str, os.stat_result]:
    """A strong ETag from the file's bytes, cached until its mtime or size changes."""
    st = path.stat()
    d = desk()
    key = (str(path), st.st_mtime_ns, st.st_size)
    with d.etag_lock:
        tag = d.etags.get(key)
    if tag is None:
        tag = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
        with d.etag_lock:
            for old in [k for k in d.etags if k[0] == key[0]]:
                del d.etags[old]
            d.etags[key] = tag
    return tag, st


def _send_feed(path: Path, mimetype: str) -> Any:
    try:
        tag, st = _etag(path)
    except FileNotFoundError:
        return Response("Not published yet.\n", 404, mimetype="text/plain")
    resp = send_file(path, mimetype=mimetype, conditional=True, etag=tag,
                     last_modified=st.st_mtime, max_age=FEED_MAX_AGE)
    # Public, read-only data: web-based feed readers may fetch it from their own pages.
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/feed.xml")
def rss() -> Any:
    """The published RSS 2.0 file."""
    return _send_feed(desk().config.output.rss, "application/rss+xml")


@bp.get("/atom.xml")
def atom() -> Any:
    """The published Atom 1.0 file."""
    return _send_feed(desk().config.output.atom, "application/atom+xml")
