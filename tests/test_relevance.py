"""The learned queue: scores, "Best first", suggestions; the model's training and storage."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, FeedServer, write_config

from curator import relevance as R
from curator.config import load
from curator.core import Curator
from curator.exceptions import ConfigError
from curator.store.relevance import RelevanceStore

ON_BEAT = [  # (title, summary) the editors feature; each carries a topic term
    ("Antitrust regulators fine Meta over teenagers' data", "The watchdog fined the company "
     "for how it handled children's accounts and privacy settings."),
    ("Antitrust watchdog fines TikTok over children's privacy", "Regulators said the app left "
     "teenagers' accounts public by default, a privacy failure."),
    ("Surveillance of teenagers: regulator fines Snap", "The privacy watchdog fined the company "
     "over children's data and location tracking."),
    ("Antitrust probe: watchdog fines Google over kids' data", "Regulators fined the firm for "
     "collecting children's data without consent, a privacy breach."),
    ("Surveillance app fined by privacy regulator over children", "The watchdog said teenagers' "
     "location data was shared with advertisers without consent."),
]
TRAPS = [  # match a topic, but the editors reject them
    ("Monopoly board game gets a shiny anniversary edition", "Collectors can buy the box with "
     "golden tokens from next week at toy shops."),
    ("Game studio merger creates a shooter giant", "The two studios will make sequels together; "
     "fans expect a new shooter next spring."),
    ("Monopoly night: the best board games for the holidays", "Our reviewers played every game "
     "with family and friends over dinner."),
    ("Merger of two racing game studios announced", "The combined studio will release a racing "
     "game with new cars and tracks next year."),
]
FILLER = [  # match no topic: what the sources carry beside the beat
    (f"Hands-on with the new {p} {i}", f"The {p} is lighter, with a brighter screen and a "
     f"bigger battery; it ships in {c} next month.")
    for i, (p, c) in enumerate([(p, c) for p in ("phone", "laptop", "headset", "camera", "watch")
                                for c in ("blue", "red", "green", "silver")])
]
MISSED = ("Watchdog fines Roblox over teenagers' accounts and children's data",
          "Regulators fined the company for a privacy failure with kids' accounts.")
OFF = ("Hands-on with the new tablet in gold", "The tablet is lighter, with a brighter screen "
       "and a bigger battery; it ships next month.")


def item(n: str, title: str, summary: str) -> str:
    return (f"<item><title>{title}</title><link>https://news.example.org/{n}</link>"
            f"<guid>{n}</guid><description>{summary}</description></item>")


def feed(items: list[str]) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Src'
            f"</title><link>https://news.example.org/</link>{''.join(items)}</channel></rss>")


def first_day() -> list[str]:
    out = [item(f"beat{i}", t, s) for i, (t, s) in enumerate(ON_BEAT)]
    out += [item(f"trap{i}", t, s) for i, (t, s) in enumerate(TRAPS)]
    out += [item(f"fill{i}", t, s) for i, (t, s) in enumerate(FILLER)]
    return out


def second_day() -> list[str]:
    return first_day() + [
        item("missed", *MISSED), item("off", *OFF),
        item("beat-new", "Antitrust watchdog fines Discord over kids' privacy",
             "Regulators fined the company over children's data and privacy."),
        item("trap-new", "Monopoly gets a new city edition", "The board game box comes with "
             "new tokens for collectors."),
    ]


def by_url(rows: list[dict[str, Any]], tail: str) -> dict[str, Any]:
    found = [r for r in rows if r["url"].endswith("/" + tail)]
    assert found, tail
    return found[0]


def same_db(cli: Cli) -> str:
    """The database the test's feeds.yaml names, for a rewrite of it."""
    return str(load(cli.config).database)


def decide(cli: Cli) -> None:
    """The editors feature the beat and reject the traps of the first day."""
    for c in cli("candidates", "--json", "--limit", "100"):
        if "/beat" in c["url"]:
            cli("feature", str(c["id"]), "--note", "Why it matters.")
        elif "/trap" in c["url"]:
            cli("reject", str(c["id"]))


@pytest.fixture
def two_days(tmp_path: Path, server: FeedServer, clock: Any, backend: Any
             ) -> tuple[Cli, FeedServer]:
    """Two days of a source, the first one decided; on SQLite and on PostgreSQL."""
    url = server.add("/f.xml", feed(first_day()))
    cli = Cli(write_config(tmp_path, [{"url": url, "name": "Src"}], database=str(backend)))
    cli("poll", "--json")
    decide(cli)
    server.add("/f.xml", feed(second_day()))
    clock.advance(hours=1)
    return cli, server


def test_before_any_decision_scores_come_from_topics(tmp_path: Path, server: FeedServer,
                                                      clock: Any) -> None:
    url = server.add("/f.xml", feed(first_day() + [item(
        "two", "Antitrust case over surveillance", "Both topics match this one.")]))
    cli = Cli(write_config(tmp_path, [{"url": url, "name": "Src"}]))
    cli("poll", "--json")
    cands = cli("candidates", "--json", "--limit", "100")
    assert {c["score"] for c in cands if not c["url"].endswith("/two")} == {0.5}
    assert by_url(cands, "two")["score"] == pytest.approx(2 / 3, abs=1e-6)
    assert not any(c["suggested"] for c in cands)
    best = cli("candidates", "--json", "--sort", "score", "--limit", "1")
    assert best[0]["url"].endswith("/two")


def test_decisions_teach_the_score_and_best_first(two_days: tuple[Cli, FeedServer]) -> None:
    cli, _ = two_days
    cli("poll", "--json")
    said = cli.last.stderr  # a refresh that failed is logged there, and the poll goes on
    cur = Curator(load(cli.config))
    model = RelevanceStore(cur.store).load_model()
    cur.close()
    assert model is not None and model.meta["features"] == len(ON_BEAT), (model, said)
    cands = cli("candidates", "--json", "--limit", "100")
    beat, trap = by_url(cands, "beat-new"), by_url(cands, "trap-new")
    assert 0 <= trap["score"] < 0.5 < beat["score"] <= 1, (trap, beat, said)
    ranked = cli("candidates", "--json", "--sort", "score", "--limit", "100")
    scores = [c["score"] for c in ranked]
    assert scores == sorted(scores, reverse=True)
    assert ranked[0]["url"].endswith(("/beat-new", "/missed"))
    # The text listing shows the score too.
    text = cli("candidates", "--sort", "score").stdout
    assert f"{ranked[0]['score']:4.2f}" in text.splitlines()[0]


def test_candidates_are_scored_a_page_at_a_time(two_days: tuple[Cli, FeedServer],
                                                 monkeypatch: Any) -> None:
    """A refresh reads the candidates to score a page at a time (a first poll of thousands of
    feeds brings thousands): every one is scored once, as the model scores it alone."""
    cli, server = two_days
    server.add("/f.xml", feed(second_day() + [
        item(f"more{i}", f"Antitrust regulators open probe {i} into app stores",
             "The watchdog looks at fees and privacy rules.") for i in range(8)]))
    monkeypatch.setattr("curator.store.relevance.SCORE_PAGE", 3)
    cli("poll", "--json")  # the decisions changed: a retrain, and every new candidate rescored
    cands = cli("candidates", "--json", "--limit", "100")
    assert len(cands) >= 10
    cur = Curator(load(cli.config))
    rs = RelevanceStore(cur.store)
    pages = list(rs.candidates_to_score(everything_new=True))
    assert len(pages) > 3 and {len(p) for p in pages[:-1]} == {3} and 1 <= len(pages[-1]) <= 3
    ids = [r.id for page in pages for r in page]
    assert ids == sorted(set(ids)) and set(ids) == {c["id"] for c in cands}
    model = rs.load_model()
    assert model is not None
    assert {c["id"]: c["score"] for c in cands} == pytest.approx(
        {r.id: model.score(r.doc) for page in pages for r in page}, abs=1e-9)
    assert list(rs.candidates_to_score(everything_new=False)) == []  # none left unscored
    cur.close()


def test_an_entry_no_topic_matched_is_suggested(two_days: tuple[Cli, FeedServer]) -> None:
    cli, _ = two_days
    summary = cli("poll", "--json")
    cands = cli("candidates", "--json", "--limit", "100")
    missed = by_url(cands, "missed")
    assert missed["suggested"] is True and missed["topics"] == []
    assert missed["score"] >= R.RelevanceSettings().suggest_above
    assert not any(c["url"].endswith("/off") for c in cands)
    assert all(c["suggested"] is False for c in cands if c["topics"])
    assert summary["new_candidates"] == 3  # beat-new, trap-new and the suggestion
    shown = cli("show", str(missed["id"]), "--json")
    assert shown["suggested"] is True
    text = cli("show", str(missed["id"])).stdout
    assert f"score: {missed['score']:.2f}" in text
    assert "suggested: like " in text and "you featured" in text


def test_a_rejected_suggestion_teaches_like_any_reject(two_days: tuple[Cli, FeedServer],
                                                       clock: Any) -> None:
    cli, _ = two_days
    cli("poll", "--json")
    cur = Curator(load(cli.config))
    rs = RelevanceStore(cur.store)
    before = rs.fingerprint()
    missed = by_url(cli("candidates", "--json", "--limit", "100"), "missed")
    cli("reject", str(missed["id"]))
    assert rs.fingerprint() != before
    clock.advance(hours=1)
    cli("poll", "--json")
    examples = rs.examples()
    assert any(e.doc.title == MISSED[0] and e.label == 0 and e.weight == 1.0 for e in examples)
    after = cli("show", str(missed["id"]), "--json")
    assert after["status"] == "rejected" and after["suggested"] is True
    model = rs.load_model()
    assert model is not None and model.fingerprint == rs.fingerprint()
    cur.close()


def test_suggest_false_makes_none_and_withdraws_the_undecided(
        two_days: tuple[Cli, FeedServer], tmp_path: Path, clock: Any) -> None:
    cli, server = two_days
    cli("poll", "--json")
    assert any(c["suggested"] for c in cli("candidates", "--json", "--limit", "100"))
    write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "Src"}], database=same_db(cli),
                 relevance={"suggest": False})
    clock.advance(hours=1)
    cli("poll", "--json")
    assert not any(c["suggested"] for c in cli("candidates", "--json", "--limit", "100"))


def test_a_suggestion_an_editor_worked_on_is_never_withdrawn(
        two_days: tuple[Cli, FeedServer], tmp_path: Path, clock: Any) -> None:
    cli, server = two_days
    cli("poll", "--json")
    missed = by_url(cli("candidates", "--json", "--limit", "100"), "missed")
    cli("feature", str(missed["id"]), "--note", "A draft worth keeping.")
    cli("reset", str(missed["id"]))  # back to new, the note kept as a draft
    write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "Src"}], database=same_db(cli),
                 relevance={"suggest": False})
    clock.advance(hours=1)
    cli("poll", "--json")
    kept = cli("show", str(missed["id"]), "--json")
    assert kept["status"] == "new" and kept["note"] == "A draft worth keeping."


def test_a_higher_suggest_above_makes_fewer(two_days: tuple[Cli, FeedServer], tmp_path: Path
                                            ) -> None:
    cli, server = two_days
    write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "Src"}], database=same_db(cli),
                 relevance={"suggest_above": 1.0})
    cli("poll", "--json")
    assert not any(c["suggested"] for c in cli("candidates", "--json", "--limit", "100"))


@pytest.mark.parametrize("value", [2, -0.1, "high", True])
def test_suggest_above_must_be_a_fraction(tmp_path: Path, value: Any) -> None:
    path = write_config(tmp_path, [], relevance={"suggest_above": value})
    with pytest.raises(ConfigError) as e:
        load(path)
    assert "relevance.suggest_above" in str(e.value) and "feeds.yaml:" in str(e.value)


def test_rematch_keeps_suggestions_and_counts_them_once(two_days: tuple[Cli, FeedServer]
                                                        ) -> None:
    cli, _ = two_days
    cli("poll", "--json")
    before = {c["url"] for c in cli("candidates", "--json", "--limit", "100")}
    result = cli("rematch", "--json")
    after = {c["url"] for c in cli("candidates", "--json", "--limit", "100")}
    assert before == after
    assert result["new_candidates"] == 0 and result["dropped"] == 0


def test_a_suggestion_a_topic_comes_to_match_is_an_ordinary_candidate(
        two_days: tuple[Cli, FeedServer], tmp_path: Path) -> None:
    cli, server = two_days
    cli("poll", "--json")
    assert by_url(cli("candidates", "--json", "--limit", "100"), "missed")["suggested"] is True
    topics = [{"name": "fines", "any": ["watchdog fines"]}, {"name": "antitrust",
                                                             "any": ["antitrust", "monopol*"]}]
    write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "Src"}], topics, database=same_db(cli))
    cli("rematch", "--json")
    missed = by_url(cli("candidates", "--json", "--limit", "100"), "missed")
    assert missed["suggested"] is False and missed["topics"] == ["fines"]


def test_a_damaged_model_is_rebuilt(two_days: tuple[Cli, FeedServer], clock: Any) -> None:
    cli, _ = two_days
    cli("poll", "--json")
    scores = {c["url"]: c["score"] for c in cli("candidates", "--json", "--limit", "100")}
    cur = Curator(load(cli.config))
    cur.store.conn.execute("UPDATE relevance_model SET model = ?", (b"\x00\xff\x00",))
    assert RelevanceStore(cur.store).load_model() is None
    cur.close()
    clock.advance(hours=1)
    cli("poll", "--json")  # no error: rebuilt from the same decisions
    cur = Curator(load(cli.config))
    assert RelevanceStore(cur.store).load_model() is not None
    cur.close()
    again = {c["url"]: c["score"] for c in cli("candidates", "--json", "--limit", "100")}
    assert again == scores  # same data, same score
    cur = Curator(load(cli.config))
    cur.store.conn.execute("DELETE FROM relevance_model")
    cur.close()
    cli("rematch", "--json")
    assert {c["url"]: c["score"] for c in cli("candidates", "--json", "--limit", "100")} == scores


# A copy of the SQLite file; PostgreSQL's same scores are the test above.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_same_data_same_score_in_another_copy(two_days: tuple[Cli, FeedServer],
                                              tmp_path: Path) -> None:
    cli, _ = two_days
    assert load(cli.config).database == cli.config.parent / "db" / "curator.db"
    cli("poll", "--json")
    db = cli.config.parent / "db" / "curator.db"
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM relevance_model")
    code = ("import sys; from curator.store import Store; from curator.store.relevance import "
            "RelevanceStore; from curator.relevance import train; rs = RelevanceStore(Store("
            "sys.argv[1])); m = train(rs.examples(), rs.fingerprint()); "
            "print(m.to_blob().hex())")
    blobs = {subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, check=True).stdout for path in (db, copy)}
    assert len(blobs) == 1  # another process, another hash seed: the same model


def test_one_kind_of_decision_only(tmp_path: Path, server: FeedServer, clock: Any) -> None:
    url = server.add("/f.xml", feed(first_day()))
    cli = Cli(write_config(tmp_path, [{"url": url, "name": "Src"}]))
    cli("poll", "--json")
    for c in cli("candidates", "--json", "--limit", "100"):
        cli("feature", str(c["id"]), "--note", "all of them")
    server.add("/f.xml", feed(second_day()))
    clock.advance(hours=1)
    cli("poll", "--json")  # the unseen entries are the negatives
    for c in cli("candidates", "--json", "--status", "all", "--limit", "100"):
        assert 0 <= c["score"] <= 1


def test_only_rejects_keep_the_topic_scores(tmp_path: Path, server: FeedServer,
                                            clock: Any) -> None:
    url = server.add("/f.xml", feed(first_day()))
    cli = Cli(write_config(tmp_path, [{"url": url, "name": "Src"}]))
    cli("poll", "--json")
    for c in cli("candidates", "--json", "--limit", "100")[:3]:
        cli("reject", str(c["id"]))
    server.add("/f.xml", feed(second_day()))
    clock.advance(hours=1)
    cli("poll", "--json")
    new = cli("candidates", "--json", "--limit", "100")
    assert {c["score"] for c in new} == {0.5} and not any(c["suggested"] for c in new)


@pytest.mark.parametrize("title,summary", [
    ("", ""), ("Регулятор оштрафовал TikTok", "Штраф за данные подростков"),
    ("监管机构对TikTok处以罚款", "青少年账户"), ("!!!", "…"), ("x" * 5000, "y " * 20000)])
def test_any_text_scores_between_0_and_1(title: str, summary: str) -> None:
    examples = [R.Example(R.Doc(t, s, "1", ("antitrust",)), 1) for t, s in ON_BEAT]
    examples += [R.Example(R.Doc(t, s, "1", ("antitrust",)), 0) for t, s in TRAPS]
    model = R.train(examples, "fp")
    assert model is not None
    assert 0 <= model.score(R.Doc(title, summary, "1")) <= 1
    assert 0 <= model.score(R.Doc(title, summary, "9", ("x",))) <= 1


def test_training_needs_both_kinds() -> None:
    pos = [R.Example(R.Doc(t, s, "1"), 1) for t, s in ON_BEAT]
    assert R.train(pos, "fp") is None
    assert R.train(pos[:2] + [R.Example(R.Doc(t, s, "1"), 0) for t, s in TRAPS], "fp") is None


def test_the_stored_model_round_trips_and_damage_is_caught() -> None:
    examples = [R.Example(R.Doc(t, s, "1"), 1) for t, s in ON_BEAT]
    examples += [R.Example(R.Doc(t, s, "2"), 0) for t, s in TRAPS + FILLER]
    model = R.train(examples, "fp")
    assert model is not None
    again = R.Model.from_blob(model.to_blob(), "fp")
    assert again == model
    doc = R.Doc(*MISSED, "1")
    assert again.score(doc) == model.score(doc)
    import zlib
    for bad in (b"", b"junk", zlib.compress(b"[1, 2]"), zlib.compress(b'{"intercept": "x"}'),
                zlib.compress(b'{"intercept": NaN, "weights": {}}'),
                zlib.compress(b'{"intercept": 0, "weights": {"a": Infinity}}'), None, 7):
        assert R.Model.from_blob(bad, "fp") is None


def test_reasons_name_the_words_that_count() -> None:
    examples = [R.Example(R.Doc(t, s, "1"), 1) for t, s in ON_BEAT]
    examples += [R.Example(R.Doc(t, s, "2"), 0) for t, s in TRAPS + FILLER]
    model = R.train(examples, "fp")
    assert model is not None
    words = model.reasons(R.Doc(*MISSED, "3"))
    assert words and all(not w.startswith(("s:", "k:", "t:")) for w in words)
    featured = [R.tokens(R.Doc(t, s, "1")) for t, s in ON_BEAT]
    assert R.similar_count(R.tokens(R.Doc(*MISSED, "3")), featured) >= 1
    assert R.similar_count(R.tokens(R.Doc(*OFF, "3")), featured) == 0


def test_many_decisions_train_on_the_newest(tmp_path: Path, monkeypatch: Any) -> None:
    """100,000 decisions: counted, fingerprinted, and the newest MAX_DECISIONS trained on.
    (Already scored, as decided candidates are: the refresh scores only those without a score,
    which other tests cover; scoring 100,000 here took half the test's time.)"""
    cfg = load(write_config(tmp_path, []))
    cur = Curator(cfg)
    conn = cur.store.conn
    with cur.store.write():
        conn.executemany(
            "INSERT INTO candidates (url, title, sort_time, first_seen, status, featured_at, guid,"
            " score) VALUES (?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', ?, ?, ?, 0.5)",
            [(f"https://n.example.org/{i}", (ON_BEAT if i % 5 == 0 else TRAPS)[i % 4][0],
              "featured" if i % 5 == 0 else "rejected",
              "2026-01-01T00:00:00Z" if i % 5 == 0 else None,
              f"urn:x:{i}" if i % 5 == 0 else None) for i in range(100_000)])
    rs = RelevanceStore(cur.store)
    assert rs.decision_count() == 100_000
    monkeypatch.setattr(R, "MAX_DECISIONS", 2000)
    monkeypatch.setattr("curator.store.relevance.MAX_DECISIONS", 2000)
    examples = rs.examples()
    assert len(examples) == 2000
    done = cur.refresh_relevance()
    assert done is not None and done.trained and done.model
    assert RelevanceStore(cur.store).load_model() is not None
    cur.close()


def test_listing_never_loads_scikit_learn(two_days: tuple[Cli, FeedServer]) -> None:
    """Scores are stored: `candidates` (and a poll with unchanged decisions) import no sklearn."""
    cli, _ = two_days
    cli("poll", "--json")
    code = ("import sys; from curator.cli import main; sys.argv = ['curator', '--config', "
            "sys.argv[1], '-q'] + sys.argv[2:]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('sklearn', 'scipy',"
            " 'numpy')))), file=sys.stderr)")
    for args in (["candidates", "--json", "--sort", "score"], ["poll", "--json"]):
        run = subprocess.run([sys.executable, "-c", "import json\n" + code, str(cli.config),
                              *args], capture_output=True, text=True, check=True)
        assert json.loads(run.stderr.strip().splitlines()[-1]) == [], args


def test_suggestions_since_a_date_find_their_first_entry_through_an_index(tmp_path: Path
                                                                         ) -> None:
    """A retrain looks back a few days: the oldest entry in range is found through the
    first_seen index, not by walking every older entry (SQLite's min(id) shortcut would)."""
    from curator.store import Store

    store = Store(tmp_path / "c.db")
    traced: list[str] = []
    store.sqlite.set_trace_callback(traced.append)
    for _ in RelevanceStore(store).unseen(since="2026-11-20T00:00:00Z", limit=10):
        pass
    store.sqlite.set_trace_callback(None)
    plans = [detail for sql in traced if "first_seen" in sql
             for *_, detail in store.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
    assert plans
    unindexed = [d for d in plans if d.split()[:2] in (["SEARCH", "entries"], ["SCAN", "entries"],
                                                       ["SEARCH", "e"], ["SCAN", "e"])
                 and " USING " not in d]
    assert not unindexed, plans
    store.close()
