"""The desk's Sources and Topics pages: add, rename, disable and remove sources, edit topics
with a preview of what a rematch would do; every change is written to feeds.yaml by the one
writer (only the edited lines change) and recorded with the editor."""

from __future__ import annotations

import logging
from typing import Any

from flask import redirect, render_template, request, url_for

from ..editing import Editing
from ..exceptions import CuratorError, NotFound, StoreError, UsageError
from .views import bp, curator, editor, notify

log = logging.getLogger("curator.web")


def _sources_page(error: str | None = None, draft: dict[str, str] | None = None,
                  status: int = 200) -> Any:
    c = curator()
    rows = c.sources()
    counts = Editing(c).source_counts()
    problems = sum(1 for r in rows if r.disabled or r.failures)
    body = render_template(
        "sources.html", active="sources", rows=rows, problems=problems,
        enabled=c.last_enabled(), now=c.now(), counts=counts, error=error, draft=draft or {},
        changes=Editing(c).source_activity(), labels=ACTIVITY_LABELS)
    return body, status


ACTIVITY_LABELS = {
    "enable": "re-enabled", "disable": "disabled", "source-add": "added the source",
    "source-rename": "renamed", "source-remove": "removed the source",
    "topic-add": "added the topic", "topic-edit": "changed the topic",
    "topic-remove": "removed the topic",
}


@bp.get("/sources")
def sources() -> Any:
    """Every source's health and entry counts; add, rename, disable or remove sources."""
    return _sources_page()


def _config_edit(run: Any, draft: dict[str, str] | None = None) -> Any:
    """Run a feeds.yaml edit; on a refusal, the Sources page again with why (and the draft)."""
    try:
        run()
    except CuratorError as e:
        if isinstance(e, StoreError):
            raise
        return _sources_page(error=str(e), draft=draft, status=400)
    return redirect(url_for("desk.sources"))


@bp.post("/sources/add")
def add_source() -> Any:
    """Add a source to feeds.yaml (only its lines are added; comments and layout stay)."""
    url = request.form.get("url", "").strip()
    name = " ".join(request.form.get("name", "").split())[:200] or None
    draft = {"url": url, "name": name or ""}

    def run() -> None:
        Editing(curator()).add_source(url, name, editor=editor())
        notify(f"Added “{name or url}”; the next poll fetches it.")
        log.info("%s added source %s", editor(), url)

    return _config_edit(run, draft)


@bp.post("/sources/rename")
def rename_source() -> Any:
    """Set or clear a source's name in feeds.yaml."""
    url = request.form.get("source", "")
    name = " ".join(request.form.get("name", "").split())[:200] or None

    def run() -> None:
        Editing(curator()).rename_source(url, name, editor=editor())
        notify(f"Renamed to “{name}”." if name else f"{url} is called by its feed's title now.")
        log.info("%s renamed source %s to %r", editor(), url, name)

    return _config_edit(run)


@bp.post("/sources/remove")
def remove_source() -> Any:
    """Take a source out of feeds.yaml; its entries and candidates stay (Undo adds it back)."""
    url = request.form.get("source", "")
    c = curator()
    name = next((s.name for s in c.config.sources if s.url == url), None)

    def run() -> None:
        Editing(c).remove_source(url, editor=editor())
        notify(f"Removed “{name or url}” from feeds.yaml; what it brought in stays.",
               undo_post=(url_for("desk.add_source"), {"url": url, "name": name or ""}))
        log.info("%s removed source %s", editor(), url)

    return _config_edit(run)


@bp.post("/sources/disable")
def disable() -> Any:
    """Stop polling a source until it is re-enabled (it stays in feeds.yaml)."""
    row = Editing(curator()).disable(request.form.get("source", ""), editor=editor())
    notify(f"“{row.display_name}” is disabled: it is not polled until re-enabled.")
    log.info("%s disabled source %s", editor(), row.url)
    return redirect(url_for("desk.sources"))


# ------------------------------------------------------------------ topics


def _terms(field: str) -> list[Any]:
    """A textarea's terms, one a line; in `all`, `a | b` is a group any one of which will do."""
    out: list[Any] = []
    for line in request.form.get(field, "").splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        parts = [p.strip() for p in line.split(" | ") if p.strip()]
        out.append(parts if field == "all" and len(parts) > 1 else line)
    return out


def _term_lines(terms: Any) -> str:
    return "\n".join(" | ".join(t) if isinstance(t, list | tuple) else str(t) for t in terms)


@bp.get("/topics")
def topics() -> Any:
    """The topics, their terms and what they matched; each opens for editing."""
    c = curator()
    return render_template("topics.html", active="topics", topics=c.config.topics,
                           counts=Editing(c).topic_counts(), changes=Editing(c).source_activity(),
                           labels=ACTIVITY_LABELS, now=c.now())


def _topic_form(draft: dict[str, Any], *, error: str | None = None,
                preview: dict[str, Any] | None = None, status: int = 200) -> Any:
    c = curator()
    body = render_template("topic.html", active="topics", d=draft, error=error,
                           preview=preview, counts=Editing(c).topic_counts(), now=c.now())
    return body, status


@bp.get("/topics/new")
def new_topic() -> Any:
    return _topic_form({"original": "", "name": "", "title": "", "any": "", "all": "",
                        "none": ""})


@bp.get("/topics/<name>")
def topic(name: str) -> Any:
    t = next((t for t in curator().config.topics if t.name == name), None)
    if t is None:
        raise NotFound("topic", name)
    return _topic_form({"original": t.name, "name": t.name,
                        "title": t.title if t.title != t.name else "",
                        "any": _term_lines(t.any), "all": _term_lines(t.all),
                        "none": _term_lines(t.none)})


@bp.post("/topics/save")
def save_topic() -> Any:
    """Preview (`action=preview`) or save a topic, or remove it (`remove-preview`, `remove`).

    Saving rewrites only that topic's lines in feeds.yaml and applies the topics to every
    stored entry (a rematch), as the preview showed.
    """
    c = curator()
    action = request.form.get("action", "preview")
    original = request.form.get("original", "")
    name = (original or request.form.get("name", "")).strip()
    title = " ".join(request.form.get("title", "").split())[:200] or None
    draft = {k: request.form.get(k, "") for k in ("title", "any", "all", "none")}
    draft.update(original=original, name=name)
    terms = {"any_terms": _terms("any"), "all_terms": _terms("all"),
             "none_terms": _terms("none")}
    removing = action in ("remove", "remove-preview")
    try:
        if removing:
            if not original:
                raise UsageError("only a saved topic can be removed")

            def edit(f: Any) -> None:
                f.remove_topic(original)
        else:
            def edit(f: Any) -> None:
                f.put_topic(name, title=title, create=not original, **terms)
        if action in ("preview", "remove-preview"):
            preview = Editing(c).rematch_preview(Editing(c).topics_after(edit))
            preview["removing"] = removing
            return _topic_form(draft, preview=preview)
        if removing:
            Editing(c).remove_topic(original, editor=editor())
        else:
            Editing(c).put_topic(name, title=title, create=not original, editor=editor(),
                                  **terms)
    except CuratorError as e:
        if isinstance(e, StoreError):
            raise
        return _topic_form(draft, error=str(e), status=400)
    except ValueError as e:  # a term the matcher cannot use
        return _topic_form(draft, error=str(e), status=400)
    result = c.rematch()
    what = "Removed" if removing else ("Saved" if original else "Added")
    notify(f"{what} the topic “{title or name}”. Applied to {result['entries']:,} stored "
           f"entries: {result['new_candidates']} new candidate"
           f"{'' if result['new_candidates'] == 1 else 's'}, {result['dropped']} dropped.")
    log.info("%s %s topic %s (rematch: %s)", editor(), what.lower(), name, result)
    return redirect(url_for("desk.topics"))
