"""Story placement as a poll does it: signatures from the parse workers, the index read once per
write batch. Both must place every article exactly where one-at-a-time placement puts it."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from curator import stories
from curator.poll import parse_and_match
from curator.polltypes import EntryData
from curator.store import Store
from curator.types import Topic

DATA = Path(__file__).parent / "data" / "stories"
BASE = datetime(2026, 3, 2, 8, tzinfo=UTC)


def _articles(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = yaml.safe_load((DATA / name).read_text())["items"]
    return sorted(items, key=lambda it: it["hours"])


def _entry(i: int, it: dict[str, Any]) -> EntryData:
    return EntryData(key=f"k{i}", url=f"https://{_slug(it['source'])}.example/{i}", link=None,
                     title=it["title"], summary="", content="", text=it.get("summary") or "",
                     published=None)


def _slug(source: str) -> str:
    return "".join(c for c in source.lower() if c.isalnum())


def _place(tmp: Path | str, items: list[dict[str, Any]], *, batched: bool, signed: bool
           ) -> dict[str, set[str]]:
    """Store the articles as polls would; each story as the set of its articles' URLs.

    `tmp` is a folder for a SQLite file, or a PostgreSQL database's URL."""
    store = Store(tmp / f"{batched}-{signed}.db" if isinstance(tmp, Path) else tmp)
    outlets = sorted({it["source"] for it in items})
    store.sync_sources([(f"https://{_slug(o)}.example/feed", o, None) for o in outlets], BASE)
    source_of = {s.name: s.id for s in store.sources()}
    # A poll's batch: the articles of a six-hour block, in one transaction.
    blocks: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for i, it in enumerate(items):
        blocks.setdefault(it["hours"] // 6 if batched else i, []).append((i, it))
    for block in blocks.values():
        with store.write_batch() if batched else store.write():
            for i, it in block:
                e = _entry(i, it)
                sigs = [stories.signature(e.title, e.text)] if signed else None
                store.save_entries(source_of[it["source"]], [e], [["news"]],
                                   BASE + timedelta(hours=it["hours"]), None, sigs)
    groups = {c.url: {c.url, *(a.url for a in c.also)} for c in store.candidates(limit=None)}
    store.close()
    return groups


SETS = sorted(p.name for p in DATA.glob("*.yaml"))


def _grouped(items: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The in-memory grouping (every story in the window that shares a key is compared)."""
    articles = [stories.Article(id=i, source=it["source"], title=it["title"],
                                text=it.get("summary") or "", seen=BASE + timedelta(hours=it["hours"]))
                for i, it in enumerate(items)]
    groups: dict[int, set[str]] = {}
    for i, story in stories.group(articles).items():
        groups.setdefault(story, set()).add(_entry(i, items[i]).url or "")
    return {min(g, key=lambda u: int(u.rsplit("/", 1)[1])): g for g in groups.values()}


@pytest.mark.parametrize("name", SETS)
def test_batched_and_signed_placement_groups_as_one_at_a_time(tmp_path: Path, name: str) -> None:
    """The store's index finds what comparing with every story sharing a key would find: on
    every labeled set, placement groups as `stories.group` does, however it is batched."""
    items = _articles(name)
    alone = _place(tmp_path, items, batched=False, signed=False)
    assert any(len(g) > 1 for g in alone.values())  # the set has stories to find
    assert alone == _grouped(items)
    assert _place(tmp_path, items, batched=True, signed=False) == alone
    assert _place(tmp_path, items, batched=True, signed=True) == alone


@pytest.mark.parametrize("name", SETS)
def test_a_poll_s_placement_on_postgresql_groups_as_one_at_a_time(pg_url: str, name: str
                                                                   ) -> None:
    """On PostgreSQL a poll's batch sends each source's index look-ups ahead, pipelined with
    its other reads: it places every article where comparing with every story does."""
    items = _articles(name)
    assert _place(pg_url, items, batched=True, signed=True) == _grouped(items)


_FILLER = ["Kelbrand", "Tamora", "Vexilon", "Drakmore", "Lunavex", "Osktel", "Brivara", "Fenwick",
           "Zelcorp", "Marindo", "Quorvix", "Halvane"]


def test_a_rare_name_outweighs_words_that_many_stories_share(tmp_path: Path) -> None:
    """A story found by its rare name and amount is compared, though seventy newer stories share
    more of the arrival's words: those words tell none of them apart."""
    store = Store(tmp_path / "db.sqlite")
    store.sync_sources([(f"https://{n}.example/feed", n, None) for n in ("a", "b", "wire")], BASE)
    a, b, wire = (s.id for s in sorted(store.sources(), key=lambda s: s.url))

    def entry(key: str, title: str, text: str) -> EntryData:
        return EntryData(key=key, url=f"https://x.example/{key}", link=None, title=title,
                         summary="", content="", text=text, published=None)

    with store.write_batch():
        store.save_entries(a, [entry("first", "Zorvex fined $120m",
                                     "Zorvex must pay $120m, a court said on Monday.")],
                           [["antitrust"]], BASE)
        # One outlet's articles never join each other: seventy stories that share words.
        names = [f"{x}{y.lower()}" for x in _FILLER for y in _FILLER if x != y][:70]
        store.save_entries(wire, [entry(f"w{n}", f"{name} faces antitrust scrutiny over cloud "
                                        "monopoly", f"{name} denies any cloud monopoly.")
                                  for n, name in enumerate(names)],
                           [["antitrust"]] * len(names), BASE + timedelta(minutes=1))
    with store.write_batch():
        store.save_entries(b, [entry("second", "Zorvex fined $120m amid antitrust scrutiny of "
                                     "cloud monopoly", "Zorvex was fined $120m on Monday.")],
                           [["antitrust"]], BASE + timedelta(minutes=2))
    [first] = [c for c in store.candidates(limit=None) if c.url == "https://x.example/first"]
    assert [x.url for x in first.also] == ["https://x.example/second"]


def test_a_write_batch_writes_its_index_rows_together_at_its_end(backend: Any) -> None:
    """The keys of a batch's new stories are written in one statement when it ends; its later
    arrivals find those stories meanwhile, in memory."""
    store = Store(backend)
    items = _articles("tuning.yaml")
    outlets = sorted({it["source"] for it in items})
    store.sync_sources([(f"https://{_slug(o)}.example/feed", o, None) for o in outlets], BASE)
    source_of = {s.name: s.id for s in store.sources()}

    def rows() -> int:
        return int(store.conn.execute("SELECT count(*) FROM story_keys").fetchone()[0])

    with store.write_batch():
        for i, it in enumerate(items):
            store.save_entries(source_of[it["source"]], [_entry(i, it)], [["news"]],
                               BASE + timedelta(hours=it["hours"]))
        assert rows() == 0
    assert rows() > len(items)
    groups = {c.url: {c.url, *(a.url for a in c.also)} for c in store.candidates(limit=None)}
    assert groups == _grouped(items)
    store.close()


def test_a_batch_finds_the_stories_its_own_earlier_arrivals_made(backend: Any) -> None:
    store = Store(backend)
    store.sync_sources([(f"https://o{i}.example/feed", f"O{i}", None) for i in range(3)], BASE)
    ids = [s.id for s in sorted(store.sources(), key=lambda s: s.url)]
    titles = ["Bank of England cuts interest rates to 4.5%",
              "Bank of England lowers base rate to 4.5% and halves growth forecast",
              "BoE cuts Bank Rate to 4.5% as two policymakers back bigger cut"]
    with store.write_batch():
        for n, (source, title) in enumerate(zip(ids, titles, strict=True)):
            e = EntryData(key="boe", url=f"https://o{n}.example/boe", link=None, title=title,
                          summary="", content="", published=None,
                          text="The Monetary Policy Committee voted 7-2 to cut Bank Rate to 4.5%.")
            # An arrival with an earlier clock than the one before it reads the index afresh.
            store.save_entries(source, [e], [["economy"]], BASE + timedelta(minutes=(5, 1, 9)[n]))
    [story] = store.candidates(limit=None)
    assert len(story.also) == 2


def test_an_entry_moved_to_another_url_is_placed_by_its_new_text(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.sync_sources([("https://a.example/feed", "A", None),
                        ("https://b.example/feed", "B", None)], BASE)
    a, b = (s.id for s in sorted(store.sources(), key=lambda s: s.url))
    boe = ("Bank of England cuts interest rates to 4.5%",
           "The Monetary Policy Committee voted 7-2 to cut Bank Rate to 4.5%.")
    store.save_entries(a, [EntryData(key="x", url="https://a.example/boe", link=None,
                                     title=boe[0], summary="", content="", text=boe[1])],
                       [["economy"]], BASE)
    tesla = EntryData(key="t", url="https://b.example/tesla", link=None, summary="", content="",
                      title="Tesla recalls two million cars over Autopilot",
                      text="NHTSA said the Autopilot software may be misused.")
    store.save_entries(b, [tesla], [["cars"]], BASE)
    # B's entry is rewritten: another URL, and now it reports the rate cut.
    moved = EntryData(key="t", url="https://b.example/boe-cut", link=None, summary="",
                      content="", title="Bank of England lowers base rate to 4.5%",
                      text="The MPC voted 7-2 to cut Bank Rate to 4.5%, its first cut this year.")
    store.save_entries(b, [moved], [["economy"]], BASE + timedelta(minutes=10))
    [cut] = [c for c in store.candidates(limit=None) if c.url == "https://a.example/boe"]
    assert [x.url for x in cut.also] == ["https://b.example/boe-cut"]


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>https://o.example/</link><description>d</description>
<item><title>US FTC sues Amazon, alleging it tricked users into Prime sign-ups</title>
<link>https://o.example/prime</link><description>The Federal Trade Commission on Wednesday sued
Amazon.com over Prime cancellations, a $2.5bn case.</description></item>
<item><title>Gardening tips for the weekend</title><link>https://o.example/garden</link>
<description>Plant bulbs before the frost.</description></item>
</channel></rss>"""


def test_worker_signatures_are_the_ones_placement_computes() -> None:
    topics = (Topic(name="tech", title="Tech", any=("Amazon",)),)
    parsed, matched, sigs = parse_and_match("https://o.example/feed", FEED.encode(), {}, topics,
                                            True)
    assert matched == [["tech"], []]
    assert sigs is not None and sigs[1] is None
    prime = parsed.entries[0]
    assert sigs[0] == stories.signature(prime.title, prime.text)
    # They travel back from the worker pickled: what arrives is what was computed.
    assert pickle.loads(pickle.dumps(sigs[0])) == sigs[0]
    assert parse_and_match("https://o.example/feed", FEED.encode(), {}, topics)[2] is None


def test_forked_workers_share_the_word_tables_the_poll_loaded(tmp_path: Path) -> None:
    """A first poll's workers sign entries with the tables the poll loaded before forking."""
    script = textwrap.dedent(f"""
        import sys
        from curator.poll import parser_pool, parse_and_match
        from curator.types import Topic

        def loaded():
            from curator import wordtable

            return wordtable._table is not None and "wordfreq.tokens" in sys.modules

        topics = (Topic(name="tech", title="Tech", any=("Amazon",)),)
        assert "curator.wordtable" not in sys.modules
        with parser_pool(8, sign=True) as (pool, signing):
            assert signing
            assert pool.submit(loaded).result()  # inherited, not loaded on first use
            sigs = pool.submit(parse_and_match, "https://o.example/f", {FEED.encode()!r}, {{}},
                               topics, signing).result()[2]
            assert sigs[0] is not None and sigs[1] is None
            # What the workers share stays frozen here while they run (a full collection
            # would copy every page of it), and no longer once they are gone.
            import gc
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
        with parser_pool(8) as (pool, signing):
            assert not signing
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.stdout.strip() == "ok", out.stderr


def _boe(source: int, n: int, published: datetime) -> tuple[int, list[EntryData]]:
    titles = ["Bank of England cuts interest rates to 4.5%",
              "Bank of England lowers base rate to 4.5% and halves growth forecast",
              "BoE cuts Bank Rate to 4.5% as two policymakers back bigger cut"]
    return source, [EntryData(key=f"boe{n}", url=f"https://o{n}.example/boe", link=None,
                              title=titles[n % 3], summary="", content="", published=published,
                              text="The Monetary Policy Committee voted 7-2 to cut Bank Rate "
                                   "to 4.5%.")]


def test_batches_keep_what_they_read_until_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    mine, other = Store(path), Store(path)
    mine.sync_sources([(f"https://o{i}.example/feed", f"O{i}", None) for i in range(3)], BASE)
    s1, s2, s3 = (s.id for s in sorted(mine.sources(), key=lambda s: s.url))
    reads: list[str] = []
    mine.conn.set_trace_callback(lambda sql: reads.append(sql) if sql.startswith("SELECT key, first_seen")
                                 else None)
    # Last month's article, first seen now: a story of its own that no later one joins.
    with mine.write_batch():
        mine.save_entries(*_boe(s1, 0, BASE - timedelta(days=30)), [["economy"]], BASE)
    assert len(reads) == 1
    # Another process stores today's report of the cut: a story the next batch must see.
    other.save_entries(*_boe(s2, 1, BASE), [["economy"]], BASE + timedelta(minutes=1))
    with mine.write_batch():
        mine.save_entries(*_boe(s3, 2, BASE), [["economy"]], BASE + timedelta(minutes=2))
    assert len(reads) == 2  # read again: the index changed meanwhile
    [today] = [c for c in mine.candidates(limit=None) if c.url == "https://o1.example/boe"]
    assert [a.url for a in today.also] == ["https://o2.example/boe"]
    # Nobody else wrote since: the next batch reads nothing again for the same keys.
    with mine.write_batch():
        mine.save_entries(s1, [replace(e, key="again", url="https://o0.example/again")
                               for e in _boe(s1, 2, BASE)[1]], [["economy"]],
                          BASE + timedelta(minutes=3))
    assert len(reads) == 2
    mine.close()
    other.close()


def test_a_story_made_outside_a_batch_is_found_by_the_next_batch(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.sync_sources([(f"https://o{i}.example/feed", f"O{i}", None) for i in range(3)], BASE)
    s1, s2, s3 = (s.id for s in sorted(store.sources(), key=lambda s: s.url))
    with store.write_batch():  # reads the keys of the cut, and keeps what it read
        store.save_entries(*_boe(s1, 0, BASE - timedelta(days=30)), [["economy"]], BASE)
    # The same process, outside a batch (as `curator add` writes): today's report of the cut.
    store.save_entries(*_boe(s2, 1, BASE), [["economy"]], BASE + timedelta(minutes=1))
    with store.write_batch():
        store.save_entries(*_boe(s3, 2, BASE), [["economy"]], BASE + timedelta(minutes=2))
    [today] = [c for c in store.candidates(limit=None) if c.url == "https://o1.example/boe"]
    assert [a.url for a in today.also] == ["https://o2.example/boe"]


# Word salad of the poll bench's worst case: the two titles share one rarer word, "filing", and
# their words come close: a near miss, which the near-miss rule decides.
SALAD = [("Old parents be do as around great should on kosa filing",
          "Documents which been each both see back transparency senators algorithm on year after "
          "his under could would house again american will against even agency american public "
          "during day me policy over but states every first. Complaint still where public did no "
          "as they feed but get her ranking same commis"),
         ("Our most home judge advertisers should upon made filing monopoly teenagers",
          "Good ruling she first as policy first teenagers these where or my people have there "
          "may while must under make lawsuit or year place never it long more little. Too these "
          "come and few part was public about school many it been get documents what both we all "
          "first old people investigators at off her thi")]


@pytest.mark.parametrize("beat", [0, stories.COMMON + 1])
def test_a_word_that_many_stories_share_anchors_no_near_miss(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, beat: int) -> None:
    """A rare word shared by the titles counts for a near miss (a feature of the near-miss rule).
    A word that more than COMMON of the window's stories are indexed under ("filing", when every
    story of a beat says it) tells none of them apart: it anchors nothing, in memory as in the
    store; here the rule joins the pair on the rest anyway (the words come close)."""
    anchored: list[float] = []
    real = stories._near_features

    def recording(*args: Any, **kwargs: Any) -> list[float]:
        features = real(*args, **kwargs)
        anchored.append(features[6])
        return features

    monkeypatch.setattr(stories, "_near_features", recording)
    # Word salad means little: its meanings are close only a little (cosine 0.33), under the
    # least the near-miss rule asks for; that floor aside, the rule decides here.
    monkeypatch.setattr(stories, "MEANING_MIN", 0.3)
    # `beat` stories of another outlet before them, each with "filing" among its keys.
    names = [f"{x}{y.lower()}" for x in _FILLER for y in _FILLER if x != y][:beat]
    filler = [{"source": "Wire", "title": f"{name} filing", "summary": "", "hours": 0, "story": n}
              for n, name in enumerate(names)]
    pair = [{"source": f"Outlet {n}", "title": title, "summary": text, "hours": 1 + n,
             "story": "salad"} for n, (title, text) in enumerate(SALAD)]
    assert all("file" in stories.signature(it["title"], "").keys for it in filler)
    items = filler + pair
    grouped = _grouped(items)
    urls = {_entry(len(filler) + n, it).url for n, it in enumerate(pair)}
    assert urls in grouped.values()  # joined on the near-miss rule
    assert anchored == [0.0 if beat else 1.0]
    anchored.clear()
    assert _place(tmp_path, items, batched=True, signed=True) == grouped
    assert anchored == [0.0 if beat else 1.0]


@pytest.mark.parametrize("beat", [stories.COMMON, stories.COMMON + 1])
def test_a_key_that_many_stories_share_finds_none_of_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, beat: int) -> None:
    """An arrival whose only key in common with the window's stories is one that more than
    COMMON of them share is compared with none of them: that word tells no story apart."""
    compared: list[str] = []
    real = stories.score

    def counting(a: stories.Signature, b: stories.Signature, *args: Any, **kw: Any) -> float:
        compared.append(b.title)
        return real(a, b, *args, **kw)

    monkeypatch.setattr(stories, "score", counting)
    names = [f"{x}{y.lower()}" for x in _FILLER for y in _FILLER if x != y][:beat + 1]
    items = [{"source": "Wire", "title": f"{name} filing", "summary": "", "hours": 0,
              "story": n} for n, name in enumerate(names[:beat])]
    items.append({"source": "Other", "title": f"{names[beat]} filing", "summary": "",
                  "hours": 1, "story": "last"})
    for place in (lambda: _place(tmp_path, items, batched=True, signed=True),
                  lambda: _grouped(items)):  # the store's index, and the model of it
        compared.clear()
        place()
        assert (len(compared) > 0) == (beat <= stories.COMMON)


def test_kept_signatures_share_their_words(tmp_path: Path) -> None:
    """Signatures arrive pickled from the parse workers, each with its own copy of every word;
    the thousands a poll keeps for comparing share one copy, and are equal to what arrived."""
    store = Store(tmp_path / "db.sqlite")
    store.sync_sources([(f"https://o{i}.example/feed", f"O{i}", None) for i in range(3)], BASE)
    ids = sorted((s.url, s.id) for s in store.sources())
    arrived = []
    with store.write_batch():
        for n, (_, sid) in enumerate(ids):
            source, entries = _boe(sid, n, BASE)
            sigs = [pickle.loads(pickle.dumps(stories.signature(e.title, e.text)))
                    for e in entries]
            arrived += sigs
            store.save_entries(source, entries, [["economy"]], BASE, None, sigs)
    kept = [value[2] for value in store.stories._sigs.values()]
    assert len(kept) == 3 and all(k in arrived for k in kept)
    words = [{t: t for t in sig.terms} for sig in kept]
    assert words[0]["bank"] is words[1]["bank"] is words[2]["bank"]
    # A title's events are one of a few sets: one copy of each (names stay each article's own).
    assert kept[0].events == {"enact"} and kept[0].events is kept[1].events is kept[2].events
    assert arrived[0].events is not arrived[1].events
    assert next(t for t in arrived[0].terms if t == "bank") is not next(
        t for t in arrived[1].terms if t == "bank")  # as they arrived: copies
    store.close()


def test_a_batch_keeps_the_articles_of_its_most_recent_stories_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a write batch keeps of the stories it compared is bounded (the most recently
    compared ones), and a story no longer kept is read again: the grouping is the same."""
    from curator.store.stories import StoryIndex

    items = _articles("tuning.yaml")
    alone = _place(tmp_path, items, batched=False, signed=False)
    monkeypatch.setattr("curator.store.stories._SIGNATURES", 3)
    kept: list[int] = []
    compared = StoryIndex._compared

    def spy(self: StoryIndex, *args: Any, **kw: Any) -> Any:
        out = compared(self, *args, **kw)
        kept.append(len(self._batch_members))
        return out

    monkeypatch.setattr(StoryIndex, "_compared", spy)
    (tmp_path / "small").mkdir()
    assert _place(tmp_path / "small", items, batched=True, signed=True) == alone
    assert len(kept) > 20 and max(kept) == 3
