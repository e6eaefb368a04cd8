"""The readers' site: index.html of the picks, a page per item, per-topic pages and feeds, and
the JSON Feed, built as bytes from the published items (pure) and written atomically.

Pages are rendered with Jinja2 from curator/site_templates. They need no JavaScript, load
nothing from another host (the stylesheet is inline, pinned by a Content-Security-Policy hash;
images in a note become links to them) and carry no markup from a source: item bodies are
render.item_html's, the same as the feeds'.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import html
import logging
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from markupsafe import Markup

from . import render
from .files import write_atomic
from .types import Channel, PublishedItem, Topic

__all__ = ["SiteFeed", "build", "keys", "page_csp", "remove_stale", "write"]

_log = logging.getLogger(__name__)
_TEMPLATES = Path(__file__).with_name("site_templates")
# Nothing but the inline stylesheet may load or run: no script, no frame, no form, no remote
# image or font (an image in a note is a link to it), and no <base> that could move the links.
_CSP = ("default-src 'none'; style-src '{style}'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'")

RSS_TYPE = "application/rss+xml"
ATOM_TYPE = "application/atom+xml"
JSON_TYPE = "application/feed+json"


@dataclass(frozen=True)
class SiteFeed:
    """A feed a page names: a link (relative to the site folder, or absolute) and its kind."""

    label: str  # "RSS", "Atom", "JSON Feed"
    type: str
    href: str  # relative to the site's root folder, or an absolute URL


@functools.cache
def _environment() -> Any:
    import jinja2

    from .configcache import folder

    # The templates compiled once, kept in the cache folder (private to this user, as the parsed
    # configs are; keyed by each template's text): a publish that renders pages spends about
    # 1 ms loading them instead of about 10 compiling them.
    compiled = folder("templates")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled)) if compiled else None,
    )


@functools.cache
def _css() -> tuple[str, str]:
    """The stylesheet and the CSP source that allows exactly it."""
    css = (_TEMPLATES / "site.css").read_text(encoding="utf-8").strip()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, f"sha256-{digest}"


def page_csp() -> str:
    """The Content-Security-Policy of every page: its inline stylesheet, and nothing else."""
    return _CSP.format(style=_css()[1])


def _date(when: datetime) -> tuple[str, str]:
    utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return f"{utc.day} {utc:%B %Y}", utc.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _local_body(body: str) -> str:
    """The item body with each image made a link to it: a page loads nothing from another host."""
    if "<img" not in body:
        return body
    import lxml.html

    holder = lxml.html.fragment_fromstring(body, create_parent="div")
    for img in list(holder.iter("img")):
        link = lxml.html.Element("a", href=img.get("src") or "")
        link.text = "Image: " + (img.get("alt") or img.get("title") or "untitled")
        link.tail = img.tail
        img.getparent().replace(img, link)
    out = "".join(lxml.html.tostring(child, encoding="unicode") for child in holder)
    return (holder.text and html.escape(holder.text) or "") + out


def _plain(fragment: str) -> str:
    """An HTML fragment's text on one line, for descriptions."""
    import nh3

    return " ".join(html.unescape(nh3.clean(fragment, tags=set())).split())


def _shorten(text: str, limit: int = 200) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-") + " …"


class _Builder:
    def __init__(self, channel: Channel, topics: Sequence[Topic],
                 main_feeds: Sequence[SiteFeed]) -> None:
        self.channel = channel
        self.topics = [t for t in topics if t.name]
        self.titles = {t.name: t.title or t.name for t in self.topics}
        self.main_feeds = list(main_feeds)
        self.css = _css()[0]
        self.csp = page_csp()
        self.files: dict[str, bytes] = {}

    def topic_feeds(self, name: str) -> list[SiteFeed]:
        base = f"topics/{name}/"
        return [SiteFeed("RSS", RSS_TYPE, base + "feed.xml"),
                SiteFeed("Atom", ATOM_TYPE, base + "atom.xml"),
                SiteFeed("JSON Feed", JSON_TYPE, base + "feed.json")]

    def view(self, item: PublishedItem, body: str) -> dict[str, Any]:
        date, stamp = _date(item.featured_at)
        return {
            "title": render._title(item),
            "url": render._safe_url(item.url) or "",
            "source": render._source_name(item),
            "date": date,
            "datetime": stamp,
            "topics": [{"name": t, "title": self.titles[t]} for t in item.topics
                       if t in self.titles],
            "path": render.item_path(item),
            "body": Markup(_local_body(body)),
        }

    def page(self, template: str, path: str, *, share_title: str, description: str,
             feeds: Sequence[SiteFeed], own: Sequence[SiteFeed], follow: str,
             og_type: str = "website", current_topic: str = "", **context: Any) -> None:
        root = "../" * path.count("/")

        def href(feed: SiteFeed) -> dict[str, str]:
            absolute = "://" in feed.href
            kind = feed.label
            return {"type": feed.type, "label": kind,
                    "title": f"{kind}: {follow}" if feed in own else kind,
                    "href": feed.href if absolute else root + feed.href}

        site_title = render._line(self.channel.title)
        page_title = share_title if share_title == site_title else f"{share_title} · {site_title}"
        text = _environment().get_template(template).render(
            lang="en",
            csp=self.csp,
            css=Markup(self.css),
            page_title=page_title,
            share_title=share_title,
            description=description,
            canonical=render._safe_url(urljoin(self.channel.link, path.removesuffix("index.html")))
            or "",
            og_type=og_type,
            site={"title": site_title, "description": render._line(self.channel.description)},
            topics=[{"name": t.name, "title": self.titles[t.name]} for t in self.topics],
            current_topic=current_topic,
            feeds=[href(f) for f in feeds],
            own_feeds=[href(f) for f in own],
            follow=follow,
            root=root,
            **context,
        )
        self.files[path] = text.encode("utf-8")

    def topic_channel(self, name: str) -> Channel:
        channel, base = self.channel, f"topics/{name}/"
        return dataclasses.replace(
            channel,
            title=f"{render._line(channel.title)}: {self.titles[name]}",
            link=urljoin(channel.link, base),
            site_url=channel.site_url or channel.link,
            rss_url=urljoin(channel.link, base + "feed.xml"),
            atom_url=urljoin(channel.link, base + "atom.xml"),
            json_url=urljoin(channel.link, base + "feed.json"),
        )

    def parts(self, items: Sequence[PublishedItem]) -> list[tuple[str, list[PublishedItem]]]:
        """Every file of the site, by path, with the items it shows (in order). What else a file
        shows (the channel, the topics, the feeds) is the same for every file."""
        parts: list[tuple[str, list[PublishedItem]]] = [("feed.json", list(items)),
                                                        ("index.html", list(items))]
        parts += [(render.item_path(item), [item]) for item in items]
        for t in self.topics:
            picked = [i for i in items if t.name in i.topics]
            base = f"topics/{t.name}/"
            parts += [(base + name, picked)
                      for name in ("feed.xml", "atom.xml", "feed.json", "index.html")]
        return parts

    def keys(self, items: Sequence[PublishedItem], stamp: str) -> dict[str, str]:
        """Each file's key: a digest of everything its bytes are made from."""
        common = repr((stamp, self.channel, sorted(self.titles.items()), self.main_feeds))
        shown = {item.guid: repr(item) for item in items}
        return {path: hashlib.sha256("\n".join([common, path, *(shown[i.guid] for i in picked)])
                                     .encode("utf-8", "surrogatepass")).hexdigest()
                for path, picked in self.parts(items)}

    def build(self, items: Sequence[PublishedItem], only: Collection[str] | None = None,
              known: Mapping[str, str] | None = None) -> dict[str, bytes]:
        """The files of the site (those in `only`, else all), by path; `known`: bodies
        (render.item_html) already made, by guid."""
        bodies: dict[str, str] = dict(known or {})
        views: dict[str, dict[str, Any]] = {}

        def body(picked: Sequence[PublishedItem]) -> dict[str, str]:
            for item in picked:
                if item.guid not in bodies:
                    bodies[item.guid] = render.item_html(item)
            return bodies

        def view(item: PublishedItem) -> dict[str, Any]:
            if item.guid not in views:
                views[item.guid] = self.view(item, body([item])[item.guid])
            return views[item.guid]

        channel = self.channel
        site_title = render._line(channel.title)
        every_feed = list(self.main_feeds)
        for t in self.topics:
            every_feed += [dataclasses.replace(f, label=f"{f.label} · {self.titles[t.name]}")
                           for f in self.topic_feeds(t.name)]
        for path, picked in self.parts(items):
            if only is not None and path not in only:
                continue
            name = path.rsplit("/", 1)[-1]
            topic = path.split("/")[1] if path.startswith("topics/") else ""
            feed_channel = self.topic_channel(topic) if topic else channel
            if name == "feed.xml":
                self.files[path] = render.render_rss(feed_channel, picked, body(picked))
            elif name == "atom.xml":
                self.files[path] = render.render_atom(feed_channel, picked, body(picked))
            elif name == "feed.json":
                self.files[path] = render.render_json_feed(feed_channel, picked, body(picked))
            elif topic:
                title, own = self.titles[topic], self.topic_feeds(topic)
                self.page("index.html", path, share_title=title,
                          description=f"{title}: the picks of {site_title}", feeds=own, own=own,
                          follow=title, current_topic=topic, heading=title,
                          items=[view(i) for i in picked])
            elif path == "index.html":
                self.page("index.html", path, share_title=site_title,
                          description=render._line(channel.description) or site_title,
                          feeds=every_feed, own=self.main_feeds, follow=site_title,
                          heading="Latest picks", items=[view(i) for i in picked])
            else:
                item = picked[0]
                description = _shorten(render._line(item.excerpt)
                                       or _plain(item.note_html or "") or view(item)["source"])
                self.page("item.html", path, share_title=view(item)["title"],
                          description=description, feeds=self.main_feeds, own=self.main_feeds,
                          follow=site_title, og_type="article", item=view(item))
        return self.files


def build(channel: Channel, items: Sequence[PublishedItem], topics: Sequence[Topic],
          main_feeds: Sequence[SiteFeed], only: Collection[str] | None = None,
          bodies: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """The files of the site (those in `only`, else every one), by path under its folder:
    pure, so the same input gives the same bytes. `bodies`: the items' render.item_html, by
    guid, when the feeds were rendered with them already."""
    return _Builder(channel, topics, main_feeds).build(items, only, bodies)


def keys(channel: Channel, items: Sequence[PublishedItem], topics: Sequence[Topic],
         main_feeds: Sequence[SiteFeed], stamp: str) -> dict[str, str]:
    """Every file build() makes, by path, with a key that changes whenever the file's bytes
    would: a digest of what it shows (its items, the channel, the topics' titles, the feeds)
    and `stamp` (the renderers' version). A publish renders only the files whose key changed."""
    return _Builder(channel, topics, main_feeds).keys(items, stamp)


def write(folder: Path, files: dict[str, bytes]) -> list[str]:
    """Write each file atomically; the paths whose bytes changed."""
    return [path for path, data in files.items() if write_atomic(folder / path, data)]


def remove_stale(folder: Path, previous: Iterable[str], current: Iterable[str]) -> list[str]:
    """Remove the files an earlier publish wrote that this one did not (an unfeatured item's
    page, a removed topic's feeds), and the folders that leaves empty. Never anything else."""
    keep = set(current)
    removed = []
    for path in sorted(set(previous) - keep):
        if not _our_path(path):
            continue
        target = folder / path
        try:
            target.unlink()
        except FileNotFoundError:
            pass
        except OSError as e:
            _log.warning("could not remove %s: %s", target, e)
            continue
        removed.append(path)
        parent = target.parent
        while parent != folder:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
    return removed


def _our_path(path: str) -> bool:
    """A path of the shape build() writes: nothing that climbs out of the folder."""
    parts = path.split("/")
    return (bool(parts) and parts[0] in {"items", "topics", "index.html", "feed.json"}
            and all(p not in {"", ".", ".."} and os.sep not in p for p in parts))
