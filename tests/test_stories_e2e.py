"""Stories end to end: real feeds over HTTP, real SQLite and PostgreSQL, the CLI, the published
feeds."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import feedparser
import pytest
from test_stories_meaning import BLAZE, FIRE

from curator.config import load
from curator.core import Curator
from curator.polltypes import EntryData
from curator.store import Store

TOPICS = [{"name": "tech", "any": ["Amazon", "Tesla", "Autopilot", "FTC", "live", "briefing"]}]

PRIME = {
    "reuters": ("US FTC sues Amazon, alleging it tricked users into Prime sign-ups",
                "The Federal Trade Commission on Wednesday sued Amazon.com, accusing the retailer "
                "of enrolling millions of consumers in Prime without consent and making it hard "
                "to cancel."),
    "verge": ("The FTC is suing Amazon over its 'Iliad' Prime cancellation maze",
              "The agency says Amazon used dark patterns to push shoppers into Prime subscriptions "
              "and designed a four-page, six-click cancellation process it internally called Iliad."),
    "bbc": ("Amazon accused of trapping shoppers in Prime subscriptions",
            "US regulators say the online giant made cancelling its Prime membership deliberately "
            "difficult and signed up customers without their knowledge."),
    "ap": ("FTC says Amazon duped millions into Prime and made cancelling it a maze",
           "The Federal Trade Commission's lawsuit says Amazon enrolled consumers in Prime "
           "without consent and sabotaged their attempts to cancel the subscription."),
}
MONOPOLY = ("Judge lets FTC's antitrust case against Amazon move toward trial",
            "A federal judge in Seattle declined to dismiss the Federal Trade Commission's "
            "lawsuit accusing Amazon of illegally maintaining a monopoly over online marketplaces.")


def rss(name: str, items: list[tuple[str, str, str, Any]]) -> str:
    """An RSS 2.0 feed named `name` with (slug, title, summary, published) items."""
    body = "".join(
        f"<item><title>{escape(t)}</title><link>https://{name}.example/{slug}</link>"
        f"<guid>https://{name}.example/{slug}</guid>"
        + (f"<description>{escape(s)}</description>" if s else "")
        + (f"<pubDate>{format_datetime(p)}</pubDate>" if p else "") + "</item>"
        for slug, t, s, p in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
            f"<link>https://{name}.example/</link><description>d</description>{body}"
            "</channel></rss>")


@pytest.fixture
def outlets(server, make_cli, clock, backend):
    """Three outlets carrying the Prime story; Reuters also carries the monopoly case (on
    SQLite and on PostgreSQL)."""
    now = clock()
    server.add("/reuters", rss("reuters", [("prime", *PRIME["reuters"], now),
                                           ("monopoly", *MONOPOLY, now)]))
    server.add("/verge", rss("verge", [("prime", *PRIME["verge"], now)]))
    server.add("/bbc", rss("bbc", [("prime", *PRIME["bbc"], now)]))
    cli = make_cli([{"url": server.url(f"/{n}"), "name": n.title()}
                    for n in ("reuters", "verge", "bbc")], TOPICS, database=str(backend))
    # One outlet after another, so which article was first seen is known.
    for name in ("Reuters", "Verge", "Bbc"):
        cli("poll", "--source", name, "--json")
    return cli


def prime_of(cli) -> dict[str, Any]:
    [story] = [c for c in cli("candidates", "--json") if c["url"].endswith("/prime")]
    return story


def test_one_candidate_per_story_with_also_and_every_source(outlets):
    cands = outlets("candidates", "--json")
    assert len(cands) == 2  # the Prime story, and the monopoly case apart from it
    story = prime_of(outlets)
    assert story["url"] == "https://reuters.example/prime"
    assert story["also"] == [
        {"title": PRIME["verge"][0], "url": "https://verge.example/prime", "source": "Verge"},
        {"title": PRIME["bbc"][0], "url": "https://bbc.example/prime", "source": "Bbc"},
    ]
    assert sorted(story["sources"]) == ["Bbc", "Reuters", "Verge"]
    out = outlets("show", str(story["id"])).stdout
    assert "also covered by" in out and "https://bbc.example/prime" in out
    shown = outlets("show", str(story["id"]), "--json")
    assert {e["source"] for e in shown["entries"]} == {"Reuters", "Verge", "Bbc"}
    # The desk's source filter finds the story by any of its outlets.
    cur = Curator(load(outlets.config))
    assert [c.id for c in cur.candidates(source="Bbc")] == [story["id"]]
    cur.close()


@pytest.mark.parametrize("status", ["rejected", "featured"])
def test_a_reviewed_story_stays_reviewed_when_outlets_join(outlets, server, clock, status):
    story = prime_of(outlets)
    if status == "rejected":
        outlets("reject", str(story["id"]))
    else:
        outlets("feature", str(story["id"]), "--note", "Dark patterns, in court.")
    clock.advance(hours=3)
    server.add("/ap", rss("ap", [("prime", *PRIME["ap"], clock())]))
    outlets.config.write_text(outlets.config.read_text().replace(
        "sources:\n", f"sources:\n- url: {server.url('/ap')}\n  name: AP\n", 1))
    outlets("poll", "--all", "--json")
    assert not [c for c in outlets("candidates", "--json") if "ap.example" in c["url"]]
    after = outlets("show", str(story["id"]), "--json")
    assert after["status"] == status
    assert "https://ap.example/prime" in [a["url"] for a in after["also"]]
    assert "AP" in after["sources"]


def test_feature_link_split_merge_and_the_published_item(outlets, tmp_path):
    story = prime_of(outlets)
    sid = str(story["id"])
    outlets("feature", sid, "--note", "Worth reading.", "--link", "https://bbc.example/prime")
    shown = outlets("show", sid, "--json")
    assert shown["url"] == "https://bbc.example/prime"
    assert [a["url"] for a in shown["also"]] == ["https://verge.example/prime",
                                                 "https://reuters.example/prime"]
    # A URL that is not one of the story's articles is refused, naming it.
    bad = outlets("feature", sid, "--link", "https://elsewhere.example/x", code=2)
    assert "elsewhere.example" in bad.stderr

    outlets("publish")
    for name in ("feed.xml", "atom.xml"):
        parsed = feedparser.parse((tmp_path / "public" / name).read_bytes())
        [item] = parsed.entries
        assert item.link == "https://bbc.example/prime"
        body = item.get("content", [{}])[0].get("value") or item.description
        assert "Also covered by" in body
        tail = body[body.index("Also covered by"):]
        assert 'href="https://verge.example/prime"' in tail
        assert 'href="https://reuters.example/prime"' in tail

    # Split the Verge article off: a candidate of its own, and out of the item's also.
    new = outlets("split", sid, "https://verge.example/prime")
    assert "split #" in new.stdout
    cands = {c["url"]: c for c in outlets("candidates", "--json")}
    verge = cands["https://verge.example/prime"]
    assert verge["also"] == [] and verge["status"] == "new"
    assert "https://verge.example/prime" not in [a["url"] for a in
                                                 outlets("show", sid, "--json")["also"]]
    # ... and merge it back.
    outlets("merge", sid, str(verge["id"]))
    merged = outlets("show", sid, "--json")
    assert "https://verge.example/prime" in [a["url"] for a in merged["also"]]
    assert merged["status"] == "featured" and merged["note"] == "Worth reading."
    actions = [(h["action"], h["editor"]) for h in merged["history"]]
    assert ("link", actions[0][1]) in actions and ("split", actions[0][1]) in actions
    assert ("merge", actions[0][1]) in actions
    assert outlets("show", str(verge["id"]), code=2)  # merged away
    assert "not one of the other articles" in outlets("split", sid, "https://nope.example/",
                                                      code=2).stderr


def test_generic_titles_and_no_summary(server, make_cli, clock):
    now = clock()
    server.add("/a", rss("a", [("live", "Live updates", "Follow the live news.", now),
                               ("brief", "Morning briefing", "Good morning.", now),
                               ("tesla", "Tesla recalls 2 million cars over Autopilot", "", now)]))
    server.add("/b", rss("b", [("live", "Live updates", "Follow the live news.", now),
                               ("brief", "Morning briefing", "Good morning.", now),
                               ("tesla", "Tesla recalling 2 million vehicles to fix Autopilot",
                                "", now)]))
    cli = make_cli([server.url("/a"), server.url("/b")], TOPICS)
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    titles = sorted(c["title"] for c in cands)
    assert titles.count("Live updates") == 2 and titles.count("Morning briefing") == 2
    assert len([c for c in cands if "Tesla" in c["title"]]) == 1


def test_window_and_published_dates_bound_a_story(server, make_cli, clock):
    now = clock()
    server.add("/a", rss("a", [("prime", *PRIME["reuters"], now)]))
    cli = make_cli([{"url": server.url("/a"), "name": "A"}, {"url": server.url("/b"), "name": "B"},
                    {"url": server.url("/c"), "name": "C"}], TOPICS, stories={"window": "24h"})
    server.add("/b", rss("b", []))
    server.add("/c", rss("c", []))
    cli("poll", "--json")
    clock.advance(hours=25)
    server.add("/b", rss("b", [("prime", *PRIME["verge"], clock())]))
    # Seen now, but published a year ago: an old article, not this story.
    server.add("/c", rss("c", [("prime", *PRIME["bbc"], now - timedelta(days=365))]))
    cli("poll", "--all", "--json")
    assert len(cli("candidates", "--json")) == 3


# An upgrade of a SQLite file from before stories.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_database_from_before_stories_keeps_its_candidates(outlets, server, clock):
    db = load(outlets.config).database
    assert isinstance(db, Path)
    before = outlets("candidates", "--json")
    # Make it what the previous version left: no story tables, no record of the migration.
    conn = sqlite3.connect(db)
    conn.executescript("DROP TABLE story_keys; DROP TABLE story_articles;"
                       " DELETE FROM _sqlite_migrations WHERE name IN"
                       " ('0005_stories', '0010_story_article_ids');")
    conn.close()
    assert [c["id"] for c in outlets("candidates", "--json")] == [c["id"] for c in before]
    after = outlets("candidates", "--json")
    assert all(c["also"] == [] for c in after)  # its stories were not known: none made up
    # New entries group from then on, with candidates made from then on.
    clock.advance(hours=1)
    server.add("/verge", rss("verge", [("tesla", "Tesla recalls over 2 million US vehicles to "
                                        "fix Autopilot defect", "An NHTSA investigation.", clock())]))
    server.add("/bbc", rss("bbc", [("tesla", "Tesla recalls two million cars over Autopilot "
                                    "safety concerns", "NHTSA said Autopilot may be misused.",
                                    clock())]))
    outlets("poll", "--all", "--json")
    tesla = [c for c in outlets("candidates", "--json") if "Tesla" in c["title"]]
    assert len(tesla) == 1 and len(tesla[0]["also"]) == 1


def test_one_story_carried_by_300_outlets(tmp_path, clock):
    store = Store(tmp_path / "db.sqlite")
    ids = range(300)
    store.sync_sources([(f"https://outlet{i}.example/feed", f"Outlet {i}", None) for i in ids], clock())
    sources = {s.url: s.id for s in store.sources()}
    titles = ["Bank of England cuts interest rates to 4.5%",
              "Bank of England lowers base rate to 4.5% and halves growth forecast",
              "BoE cuts Bank Rate to 4.5% as two policymakers back bigger cut"]
    for i in ids:
        e = EntryData(key=f"k{i}", url=f"https://outlet{i}.example/boe", link=None,
                      title=titles[i % 3], summary="", content="",
                      text="The Monetary Policy Committee voted 7-2 to cut Bank Rate to 4.5%.",
                      author=None, published=clock(), updated=None)
        store.save_entries(sources[f"https://outlet{i}.example/feed"], [e], [["economy"]],
                           clock())
        clock.advance(seconds=30)
    [story] = store.candidates(limit=None)
    assert len(story.also) == 299 and len(story.sources) == 300
    keys = store.conn.execute("SELECT count(*) FROM story_keys").fetchone()[0]
    assert keys <= 4 * 10  # the first few articles give the story its keys, not all 300


def test_curator_passes_the_window_to_the_store(make_cli, tmp_path):
    cli = make_cli([], TOPICS, stories={"window": "6h"})
    cur = Curator(load(cli.config))
    assert cur.store.stories.window == 6 * 3600
    cur.close()


def test_also_covered_by_is_escaped_and_drops_unsafe_links():
    from datetime import UTC, datetime

    from curator.render import item_html
    from curator.types import PublishedItem

    when = datetime(2026, 11, 26, tzinfo=UTC)
    item = PublishedItem(
        guid="g", title="T", url="https://a.example/x", note="", source_name="A",
        source_url="https://a.example/feed", source_link=None, topics=(), featured_at=when,
        updated_at=when, also=(("<script>alert(1)</script>Quoted \"title\"", "https://b.example/y",
                                "B <img src=x onerror=alert(1)>"),
                               ("Evil", "javascript:alert(1)", "C")))
    body = item_html(item)
    # Markup in an outlet's title or name is reduced to its text; an unsafe link is left out.
    assert body.endswith('<p class="also">Also covered by <a href="https://b.example/y"'
                         ' title="Quoted &quot;title&quot;">B</a></p>')


@pytest.mark.parametrize(("value", "seconds"), [("12h", 12 * 3600), (0, 0), ("off", 0),
                                                ("2d", 2 * 86400)])
def test_stories_window_in_feeds_yaml(make_cli, value, seconds):
    cli = make_cli([], TOPICS, stories={"window": value})
    assert load(cli.config).stories_window == seconds


def test_a_bad_stories_window_names_the_key(make_cli):
    cli = make_cli([], TOPICS, stories={"window": "soon"})
    assert "stories.window" in cli("candidates", code=2).stderr
    assert load(make_cli([], TOPICS).config).stories_window == 48 * 3600


def test_grouping_off_makes_every_article_a_candidate(server, make_cli, clock):
    now = clock()
    server.add("/a", rss("a", [("prime", *PRIME["reuters"], now)]))
    server.add("/b", rss("b", [("prime", *PRIME["verge"], now)]))
    cli = make_cli([server.url("/a"), server.url("/b")], TOPICS, stories={"window": 0})
    cli("poll", "--json")
    assert len(cli("candidates", "--json")) == 2


def test_importing_a_review_of_a_grouped_article_keeps_its_own_item(outlets, tmp_path):
    story = prime_of(outlets)
    export = [{"url": "https://verge.example/prime", "title": PRIME["verge"][0],
               "status": "featured", "note": "Reviewed elsewhere.", "guid": "urn:uuid:elsewhere",
               "featured_at": "2026-11-20T09:00:00Z", "note_updated_at": "2026-11-20T09:00:00Z",
               "topics": ["tech"]}]
    path = tmp_path / "export.json"
    import json

    path.write_text(json.dumps(export))
    outlets("import", str(path))
    cands = {c["url"]: c for c in outlets("candidates", "--status", "all", "--json")}
    assert cands["https://verge.example/prime"]["status"] == "featured"
    assert "https://verge.example/prime" not in [a["url"] for a in
                                                 outlets("show", str(story["id"]), "--json")["also"]]


def test_link_and_split_take_the_url_as_pasted(outlets):
    story = prime_of(outlets)
    sid = str(story["id"])
    # Tracking parameters and a fragment, as a URL copied from a browser has them.
    outlets("feature", sid, "--link", "https://BBC.example/prime?utm_source=x#top")
    assert outlets("show", sid, "--json")["url"] == "https://bbc.example/prime"
    outlets("split", sid, " https://verge.example/prime?utm_medium=rss ")
    assert "https://verge.example/prime" in [c["url"] for c in outlets("candidates", "--json")]


@pytest.mark.parametrize(("meaning", "candidates"), [(None, 1), (True, 1), (False, 2)])
def test_stories_meaning_decides_near_misses_unless_turned_off(server, make_cli, clock,
                                                               meaning, candidates):
    # One event told in other words: the words alone leave it two stories; what the two mean
    # joins them, unless `stories.meaning` is off (small machines: the encoder is never loaded).
    now = clock()
    server.add("/wire", rss("wire", [("fire", *FIRE, now)]))
    server.add("/markets", rss("markets", [("blaze", *BLAZE, now)]))
    stories = {} if meaning is None else {"meaning": meaning}
    cli = make_cli([server.url("/wire"), server.url("/markets")],
                   [{"name": "fires", "any": ["palisades"]}], stories=stories)
    assert load(cli.config).stories_meaning is (meaning is not False)
    cli("poll", "--source", server.url("/wire"), "--json")
    cli("poll", "--source", server.url("/markets"), "--json")
    assert len(cli("candidates", "--json")) == candidates


def test_a_bad_stories_meaning_names_the_key(make_cli):
    cli = make_cli([], TOPICS, stories={"meaning": "sometimes"})
    assert "stories.meaning" in cli("candidates", code=2).stderr
