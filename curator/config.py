"""feeds.yaml -> Config, validated once; every error names the key and its line."""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, configcache, types
from .dburl import describe, is_postgres, is_url
from .exceptions import ConfigError
from .types import RelevanceSettings, Topic

if TYPE_CHECKING:
    import yaml

    from .polltypes import FetchSettings

# PyYAML loads only when a feeds.yaml is not in the cache (curator/configcache.py); the node walk
# below tells nodes apart by their `id` ("scalar", "sequence", "mapping") so it needs no import.

DEFAULT_CONFIG = "feeds.yaml"

_log = logging.getLogger("curator")

# The code that validates a feeds.yaml: a cached Config built by other code is not used.
_CODE = (__file__, types.__file__ or "")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
               "gb": 1000**3, "gib": 1024**3}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# What HTTP forbids in a header value (RFC 9110 5.5): CR and LF would start a new header line.
_HEADER_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
# The everyday shape of a feed URL. Every command reads feeds.yaml, and urlsplit costs about 5 ms
# per 1,000 sources, so URLs of this shape (which urlsplit always accepts) skip it; any other
# shape gets the full check.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::(?P<port>[0-9]{1,5}))?(?:[/?#]\S*)?\Z")
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class SourceConfig:
    """One source as written in feeds.yaml."""

    url: str
    name: str | None = None
    interval: int | None = None  # seconds; None: poll.interval


@dataclass(frozen=True)
class PollConfig:
    interval: int = 30 * 60
    timeout: float = 20.0
    max_bytes: int = 10 * 1000 * 1000
    user_agent: str = ""  # empty: user_agent_for(output.link)
    block_private_addresses: bool = False
    concurrency: int = 64
    per_host: int = 2

    def fetch_settings(self) -> FetchSettings:
        """The fetcher's view of these settings."""
        from .polltypes import FetchSettings  # only a poll fetches

        return FetchSettings(
            timeout=self.timeout,
            max_bytes=self.max_bytes,
            user_agent=self.user_agent,
            per_host=self.per_host,
            concurrency=self.concurrency,
            block_private_addresses=self.block_private_addresses,
        )


@dataclass(frozen=True)
class OutputConfig:
    title: str
    link: str
    description: str
    author_name: str
    author_email: str | None
    rss: Path
    atom: Path
    max_items: int = 50
    rss_url: str = ""  # self links; default: the file name joined to `link`
    atom_url: str = ""
    # The static site (index.html, item pages, feed.json, topics/NAME/...): a folder served at
    # `link`. None: the folder of the RSS file.
    site: Path | None = None
    excerpt_words: int = 60  # words of the original quoted in each item's body; 0: none
    websub_hub: str | None = None  # the hub every feed names and each changed feed pings

    @property
    def site_folder(self) -> Path:
        """The folder the site is written to."""
        return self.site if self.site is not None else self.rss.parent


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path | str  # a SQLite file, or a PostgreSQL URL (see curator.dburl)
    poll: PollConfig
    output: OutputConfig
    sources: tuple[SourceConfig, ...]
    topics: tuple[Topic, ...]
    retention: int | None = None  # seconds; None keeps every entry
    relevance: RelevanceSettings = field(default_factory=RelevanceSettings)
    stories_window: int = 48 * 3600  # seconds; 0 turns story grouping off
    # Whether what two articles mean (sentence embeddings) may decide a near miss: see stories.
    stories_meaning: bool = True
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class _Node:
    """A YAML value with the line it came from, so errors can point at it."""

    def __init__(self, node: yaml.Node, key: str) -> None:
        self.node = node
        self.key = key
        self.line = node.start_mark.line + 1

    def fail(self, message: str) -> ConfigError:
        return ConfigError(message, key=self.key, line=self.line)

    def mapping(self, allowed: set[str], required: frozenset[str] | set[str] = frozenset()
                ) -> dict[str, _Node]:
        if _kind(self.node) != "mapping":
            raise self.fail("must be a mapping")
        out: dict[str, _Node] = {}
        for k, v in self.node.value:
            name = k.value if _kind(k) == "scalar" else None
            child_key = f"{self.key}.{name}" if self.key else str(name)
            if name not in allowed:
                raise ConfigError(
                    f"unknown key (expected one of: {', '.join(sorted(allowed))})",
                    key=child_key, line=k.start_mark.line + 1)
            if name in out:
                raise ConfigError("duplicate key", key=child_key, line=k.start_mark.line + 1)
            out[name] = _Node(v, child_key)
        for r in sorted(required - out.keys()):
            raise ConfigError("is required", key=f"{self.key}.{r}" if self.key else r,
                              line=self.line)
        return out

    def sequence(self) -> list[_Node]:
        if _kind(self.node) == "scalar" and self.node.tag.endswith(":null"):
            return []
        if _kind(self.node) != "sequence":
            raise self.fail("must be a list")
        return [_Node(v, f"{self.key}[{i}]") for i, v in enumerate(self.node.value)]

    def scalar(self) -> Any:
        if _kind(self.node) != "scalar":
            raise self.fail("must be a single value")
        try:
            return _construct(self.node)
        except Exception as e:  # noqa: BLE001 - PyYAML's constructors raise many kinds on bad input
            # An explicit tag (`!foo x`, `!!int abc`) is built by PyYAML, which raises whatever
            # its constructor does; it is still a bad value at this key and line.
            raise self.fail(f"cannot read this value: {str(e).splitlines()[0]}") from e

    def string(self, allow_empty: bool = False) -> str:
        value = self.scalar()
        if value is None or isinstance(value, (dict, list)):
            raise self.fail("must be a string")
        text = str(value).strip()
        if not text and not allow_empty:
            raise self.fail("must not be empty")
        return text

    def text(self) -> str:
        """A name or title: a string without bidi overrides or zero-width characters."""
        from .text import strip_invisible

        text = strip_invisible(self.string()).strip()
        if not text:
            raise self.fail("must not be empty")
        return text

    def header_value(self) -> str:
        """A string sent as an HTTP header value: no line breaks or other control characters."""
        text = self.string()
        bad = _HEADER_UNSAFE.search(text)
        if bad:
            raise self.fail(f"must be one line without control characters (found "
                            f"{bad.group()!r}): it is sent as an HTTP header")
        return text

    def integer(self, minimum: int = 0) -> int:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"must be a whole number of at least {minimum}")
        return value

    def boolean(self) -> bool:
        value = self.scalar()
        if not isinstance(value, bool):
            raise self.fail("must be true or false")
        return value

    def fraction(self) -> float:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise self.fail("must be a number from 0 to 1")
        return float(value)

    def duration(self) -> int:
        value = self.scalar()
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        m = _DURATION.match(str(value)) if isinstance(value, str) else None
        if not m:
            raise self.fail(f"bad duration {value!r} (use e.g. 90s, 15m, 2h, 1d)")
        seconds = int(float(m.group(1)) * _UNITS[m.group(2)])
        if seconds <= 0:
            raise self.fail(f"bad duration {value!r}: must be more than zero")
        return seconds

    def size(self) -> int:
        value = self.scalar()
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        m = _SIZE.match(str(value)) if isinstance(value, str) else None
        if not m or float(m.group(1)) <= 0:
            raise self.fail(f"bad size {value!r} (use e.g. 500KB, 10MB)")
        return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])

    def url(self) -> str:
        text = self.string()
        plain = _PLAIN_URL.match(text)
        if plain and int(plain["port"] or 0) <= 65535:
            return text
        from urllib.parse import urlsplit

        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in text:
            raise self.fail(f"bad URL {text!r} (must be an absolute http or https URL)")
        try:
            _ = parts.port  # urlsplit checks the port only when asked
        except ValueError as e:
            raise self.fail(f"bad URL {text!r}: {e}") from e
        return text

    def term(self) -> str:
        term = self.string()
        if term.strip("*").strip() == "":
            raise self.fail("a term must have at least one letter or digit")
        return term

    def terms(self) -> tuple[str, ...]:
        return tuple(item.term() for item in self.sequence())

    def term_groups(self) -> tuple[str | tuple[str, ...], ...]:
        """`all` items: a term, or a list of terms of which any one will do."""
        out: list[str | tuple[str, ...]] = []
        for item in self.sequence():
            if _kind(item.node) == "sequence":
                group = item.terms()
                if not group:
                    raise item.fail("a group of terms must not be empty")
                out.append(group)
            else:
                out.append(item.term())
        return tuple(out)


def _kind(node: yaml.Node) -> str:
    """"scalar", "sequence" or "mapping": each of PyYAML's node classes names itself."""
    return str(getattr(node, "id", ""))


def _construct(node: yaml.Node) -> Any:
    if node.tag == _STR_TAG:  # most scalars: the resolver has already said it is the text as is
        return node.value
    import yaml

    # A constructor alone (no reader, scanner or parser) turns a scalar node into its value.
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def user_agent_for(site: str) -> str:
    """The default User-Agent: names curator and its version, and where the feed it feeds lives."""
    return f"curator/{__version__} (feed curation; +{site})"


def default_path() -> Path:
    """`$CURATOR_CONFIG`, else ./feeds.yaml."""
    return Path(os.environ.get("CURATOR_CONFIG") or DEFAULT_CONFIG)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate feeds.yaml; raise ConfigError naming the key and line."""
    cfg_path = Path(path) if path is not None else default_path()
    return from_text(read_text(cfg_path), cfg_path)


def read_text(path: Path) -> str:
    """The text of feeds.yaml; ConfigError when it is missing or unreadable."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}", path=str(path)) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config: {e}", path=str(path)) from e


def _database(node: _Node, base: Path) -> Path | str:
    """A SQLite path (relative to feeds.yaml) or a PostgreSQL URL, kept as written."""
    text = node.string()
    if is_postgres(text):
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(text.strip())
            parts.port  # noqa: B018 (reading it checks it is a number)
        except ValueError as e:
            raise node.fail(f"not a PostgreSQL URL that can be read ({describe(text)}): "
                            f"{e}") from None
        if not parts.path.strip("/"):
            raise node.fail(f"name the database: postgresql://USER@HOST:PORT/NAME "
                            f"(got {describe(text)})")
        return text.strip()
    if is_url(text):
        raise node.fail("must be a SQLite file's path or a postgresql:// URL "
                        f"(got a {text.partition(':')[0]}: URL)")
    return base / text


def from_text(text: str, cfg_path: Path) -> Config:
    """Validate `text`, read from the feeds.yaml at `cfg_path`, through the parsed-config cache.

    For a caller that has the text already (`curator run` compares it with the last one it
    loaded), so the Config is built from exactly the text it compared.
    """
    cached: Config | None = configcache.get(cfg_path, text, _CODE)
    if cached is not None:
        # The same file may have been named another way last time (relative, from elsewhere).
        return cached if cached.path == cfg_path else replace(cached, path=cfg_path)
    try:
        config = parse(text, cfg_path)
    except ConfigError as e:
        if e.path is None:
            raise ConfigError(e.message, key=e.key, line=e.line, path=str(cfg_path)) from e
        raise
    configcache.put(cfg_path, text, config, _CODE)
    return config


def describe_changes(old: Config, new: Config) -> str:
    """One line saying what an edit of feeds.yaml changed, for the log."""
    before = {s.url: s for s in old.sources}
    after = {s.url: s for s in new.sources}
    counts = [(len(after.keys() - before.keys()), "added"),
              (len(before.keys() - after.keys()), "removed"),
              (sum(after[u] != before[u] for u in after.keys() & before.keys()), "edited")]
    parts: list[str] = []
    for n, what in counts:
        if n:
            noun = "" if parts else (" source" if n == 1 else " sources")
            parts.append(f"{n}{noun} {what}")
    if not parts and new.sources != old.sources:
        parts.append("sources reordered")
    for name, section in (("poll settings", "poll"), ("output", "output"),
                          ("retention", "retention")):
        if getattr(new, section) != getattr(old, section):
            parts.append(f"{name} changed")
    if new.topics != old.topics:
        parts.append("topics changed (for entries stored from now on; `curator rematch` applies "
                     "them to those already stored)")
    return "feeds.yaml changed: " + ", ".join(parts or ["nothing curator uses"])


class Follower:
    """A feeds.yaml that a long-running process (`curator run`, `curator web`) keeps up with.

    `refresh()` looks at the file again: an edit that loads is taken in; one that does not leaves
    the last good Config in use and is logged once per distinct text, not on every look; a changed
    `database:` is not followed (every open connection and lock would have to move with it).
    Safe to share between threads.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._text: str | None = None  # the text self.config was built from, once looked at
        self._trouble: str | None = None  # what was wrong with the file, once logged
        # Why the file on disk is not the one in use (the desk shows it), or None.
        self.problem: ConfigError | None = None
        self._lock = threading.Lock()

    def refresh(self) -> Config | None:
        """The new Config when feeds.yaml changed in a way that matters, else None."""
        with self._lock:
            path = self.config.path
            try:
                text = read_text(path)
            except ConfigError as e:  # missing (mid-rename?) or unreadable: keep what runs
                self._failed(str(e), e)
                return None
            if text == self._text:
                self._loads_again()
                return None
            try:
                new = from_text(text, path)
            except ConfigError as e:
                self._failed(text, e)
                return None
            self._loads_again()
            self._text = text
            if new.database != self.config.database:
                _log.error("feeds.yaml now names the database %s; still using %s: restart "
                           "curator to switch", describe(new.database),
                           describe(self.config.database))
                new = replace(new, database=self.config.database)
            if new == self.config:  # the first look, or an edit to comments or layout
                return None
            self.config = new
            return new

    def current(self) -> Config:
        """The Config to use now, after a look at the file."""
        self.refresh()
        return self.config

    def _failed(self, trouble: str, error: ConfigError) -> None:
        self.problem = error
        if trouble != self._trouble:
            self._trouble = trouble
            _log.error("feeds.yaml not reloaded; still running on the last good one: %s", error)

    def _loads_again(self) -> None:
        self.problem = None
        if self._trouble is not None:
            self._trouble = None
            _log.info("feeds.yaml loads again")


def parse(text: str, path: Path) -> Config:
    """Validate the text of a feeds.yaml located at `path` (paths are relative to its folder)."""
    from urllib.parse import urljoin

    import yaml

    try:
        # libyaml's loader when present: the same nodes and line marks, several times faster.
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(e, 'problem', None) or e}",
                          line=mark.line + 1 if mark else None) from e
    if root is None:
        raise ConfigError("the file is empty")
    top = _Node(root, "").mapping(
        {"database", "poll", "output", "sources", "topics", "retention", "relevance", "stories"},
        {"output", "sources"},
    )
    base = path.resolve().parent

    database: Path | str = base / "db/curator.db"
    if "database" in top:
        database = _database(top["database"], base)

    poll = PollConfig()
    if "poll" in top:
        p = top["poll"].mapping({"interval", "timeout", "max_bytes", "user_agent",
                                 "block_private_addresses", "concurrency", "per_host"})
        poll = PollConfig(
            interval=p["interval"].duration() if "interval" in p else poll.interval,
            timeout=float(p["timeout"].duration()) if "timeout" in p else poll.timeout,
            max_bytes=p["max_bytes"].size() if "max_bytes" in p else poll.max_bytes,
            user_agent=(p["user_agent"].header_value() if "user_agent" in p
                        else poll.user_agent),
            block_private_addresses=(p["block_private_addresses"].boolean()
                                     if "block_private_addresses" in p else False),
            concurrency=p["concurrency"].integer(1) if "concurrency" in p else poll.concurrency,
            per_host=p["per_host"].integer(1) if "per_host" in p else poll.per_host,
        )

    o = top["output"].mapping(
        {"title", "link", "description", "author", "rss", "atom", "max_items", "rss_url",
         "atom_url", "site", "excerpt_words", "websub_hub"},
        {"title", "link", "description"},
    )
    title = o["title"].text()
    link = o["link"].url()
    author_name, author_email = title, None
    if "author" in o:
        a = o["author"]
        if _kind(a.node) == "scalar":
            author_name = a.text()
        else:
            am = a.mapping({"name", "email"}, {"name"})
            author_name = am["name"].text()
            if "email" in am:
                author_email = am["email"].string()
                if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", author_email):
                    raise am["email"].fail(f"bad email address {author_email!r}")
    rss = base / (o["rss"].string() if "rss" in o else "public/feed.xml")
    atom = base / (o["atom"].string() if "atom" in o else "public/atom.xml")
    if rss == atom:
        raise o.get("atom", top["output"]).fail("rss and atom must be different files")
    output = OutputConfig(
        title=title,
        link=link,
        description=o["description"].text(),
        author_name=author_name,
        author_email=author_email,
        rss=rss,
        atom=atom,
        max_items=o["max_items"].integer(1) if "max_items" in o else 50,
        rss_url=o["rss_url"].url() if "rss_url" in o else urljoin(link, rss.name),
        atom_url=o["atom_url"].url() if "atom_url" in o else urljoin(link, atom.name),
        site=base / o["site"].string() if "site" in o else base / "public",
        excerpt_words=o["excerpt_words"].integer(0) if "excerpt_words" in o else 60,
        websub_hub=o["websub_hub"].url() if "websub_hub" in o else None,
    )

    sources: list[SourceConfig] = []
    seen_urls: set[str] = set()
    seen_names: set[str] = set()
    for s in top["sources"].sequence():
        if _kind(s.node) == "scalar":
            src = SourceConfig(url=s.url())
        else:
            m = s.mapping({"url", "name", "interval"}, {"url"})
            src = SourceConfig(
                url=m["url"].url(),
                name=m["name"].text() if "name" in m else None,
                interval=m["interval"].duration() if "interval" in m else None,
            )
        if src.url in seen_urls:
            raise s.fail(f"duplicate source {src.url}")
        if src.name and src.name.casefold() in seen_names:
            raise s.fail(f"duplicate source name {src.name!r}")
        seen_urls.add(src.url)
        if src.name:
            seen_names.add(src.name.casefold())
        sources.append(src)

    topics: list[Topic] = []
    for t in (top["topics"].sequence() if "topics" in top else []):
        m = t.mapping({"name", "title", "any", "all", "none"}, {"name"})
        name = m["name"].string()
        if not _SLUG.match(name):
            raise m["name"].fail(f"topic name {name!r} must be a slug (a-z, 0-9, - and _)")
        if any(x.name == name for x in topics):
            raise m["name"].fail(f"duplicate topic {name!r}")
        any_terms = m["any"].terms() if "any" in m else ()
        if not any_terms:
            raise m.get("any", t).fail(
                f"topic {name!r} has no terms: give at least one under `any`")
        topics.append(Topic(
            name=name,
            title=m["title"].text() if "title" in m else name,
            any=any_terms,
            all=m["all"].term_groups() if "all" in m else (),
            none=m["none"].terms() if "none" in m else (),
        ))

    if not poll.user_agent:
        poll = replace(poll, user_agent=user_agent_for(link))

    retention = top["retention"].duration() if "retention" in top else None
    relevance = RelevanceSettings()
    if "relevance" in top:
        r = top["relevance"].mapping({"suggest", "suggest_above"})
        relevance = RelevanceSettings(
            suggest=r["suggest"].boolean() if "suggest" in r else relevance.suggest,
            suggest_above=(r["suggest_above"].fraction() if "suggest_above" in r
                           else relevance.suggest_above))
    stories_window = Config.stories_window
    stories_meaning = Config.stories_meaning
    if "stories" in top:
        st = top["stories"].mapping({"window", "meaning"})
        if "meaning" in st:
            stories_meaning = st["meaning"].boolean()
        if "window" in st:
            # 0 (or off) turns grouping off: every article is a candidate of its own.
            raw = st["window"].scalar()
            stories_window = 0 if raw in (0, "0", "off") else st["window"].duration()
    return Config(
        path=path,
        database=database,
        poll=poll,
        output=output,
        sources=tuple(sources),
        topics=tuple(topics),
        retention=retention,
        relevance=relevance,
        stories_window=stories_window,
        stories_meaning=stories_meaning,
    )
