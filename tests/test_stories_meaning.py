"""The meaning signal of the story judgement: sentence embeddings (curator/meaning.py), and the
checks that keep it from joining a different event (the court, what happened, the amounts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from curator import headlines, meaning, stories
from curator.stories import signature

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)

OUTAGE = ("Global IT outage grounds flights and takes broadcasters off air",
          "Airlines, banks and TV channels around the world were disrupted on Friday as "
          "computers failed to start.")
SHARES = ("CrowdStrike stock sinks as its botched update causes the outage",
          "Shares of the cybersecurity firm fell sharply as the worldwide outage hit airlines.")
FIRE = ("Wildfires tear through Los Angeles, forcing 30,000 to evacuate",
        "Fierce Santa Ana winds drove the Palisades fire through the Pacific Palisades "
        "neighbourhood, destroying homes and jumping towards Malibu.")
BLAZE = ("California wildfire explodes in Pacific Palisades amid hurricane-force winds",
         "Firefighters struggled to contain the blaze, which had burned nearly 3,000 acres, as "
         "officials warned of extreme fire conditions.")
OTHER = ("Australia passes a social media ban for children under 16",
         "Parliament approved the world-first law late on Thursday.")


def test_an_embedding_is_a_fixed_size_and_needs_no_download() -> None:
    vectors = meaning.embed([f"{OUTAGE[0]}. {OUTAGE[1]}", f"{SHARES[0]}. {SHARES[1]}",
                             f"{OTHER[0]}. {OTHER[1]}"])
    assert [len(v) for v in vectors] == [meaning.SIZE] * 3
    assert meaning.similarity(vectors[0], vectors[0]) == pytest.approx(1.0, abs=0.01)
    # One event in other words is much closer than another event.
    assert (meaning.similarity(vectors[0], vectors[1])
            > meaning.similarity(vectors[0], vectors[2]) + 0.2)
    assert meaning.embed([]) == []
    assert meaning.similarity(b"", vectors[0]) == 0.0


def test_each_text_is_embedded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    real = meaning.embed

    def counting(texts: list[str]) -> list[bytes]:
        asked.extend(texts)
        return real(texts)

    monkeypatch.setattr(meaning, "embed", counting)
    first = meaning.meaning_of(["An unusual text to embed", "", "An unusual text to embed"])
    again = meaning.meaning_of(["An unusual text to embed"])
    assert asked == ["An unusual text to embed"]
    assert first[0] == first[2] == again[0] and len(first[0]) == meaning.SIZE
    assert first[1] == b""
    assert signature("Live updates", "Follow along").text == ""


def test_one_event_told_in_other_words_is_one_story(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = signature(*FIRE), signature(*BLAZE)
    assert stories.same_story(b, a, hours_apart=2)
    # Without the meaning, the words alone do not say so.
    monkeypatch.setattr(stories, "MEANING_FLOOR", stories.THRESHOLD)
    assert not stories.same_story(b, a, hours_apart=2)


def test_meaning_is_not_asked_when_something_sets_two_apart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    a = signature("Meta to pay Texas $1.4 billion to settle facial recognition lawsuit",
                  "The settlement with the state's attorney general is the largest ever obtained "
                  "by a single state over privacy.")
    b = signature("Google agrees to pay Texas $1.375 billion over privacy claims",
                  "The state's attorney general said the deal resolves two lawsuits over "
                  "location tracking and biometric data.")
    close = stories.meanings(a, [b])[0]
    assert close > stories.MEANING_FROM  # the meanings alone would say "the same"
    # The amounts agree, roughly; the companies differ: the near-miss rule keeps them apart.
    assert not stories._set_apart(a, b)
    assert not stories.same_story(b, a, hours_apart=20)
    # Another sum: two payments; the rule weighs it against them.
    other = b._replace(amounts=frozenset({"$2.5e+09"}))
    assert stories._near_features(other, a, 20, 0.2, close)[8] == 1.0
    assert stories._near_features(b, a, 20, 0.2, close)[8] == 0.0
    assert not stories.same_story(other, a, hours_apart=20)
    # The title says another thing happened (a sentencing): what they mean is never asked.
    c = b._replace(events=frozenset({"sentence"}))
    assert stories._set_apart(a, c)

    def never(*_: object) -> list[float]:
        raise AssertionError("meaning asked")

    monkeypatch.setattr(stories, "meanings", never)
    # ... though the words came close (another event's score is cut: made a near miss here).
    monkeypatch.setattr(stories, "score", lambda *_args, **_kw: 0.2)
    assert not stories.same_story(c, a, hours_apart=20)
    story = stories.Story(id=1, first_seen=T0, sources={"Reuters"}, members=[(T0, a)])
    arrival = stories.Article(id=2, source="AP", title="", text="", seen=T0 + timedelta(hours=20))
    assert stories.best_story(arrival, c, [story]) is None


def test_far_apart_words_do_not_ask_for_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object) -> list[float]:
        raise AssertionError("meaning asked")

    monkeypatch.setattr(stories, "meanings", never)
    # Two titles' characters always have something in common: another event a day apart.
    a, b = signature(*OUTAGE), signature("Apple unveils a thinner iPad", "It ships next week.")
    assert stories.score(a, b, hours_apart=24) < stories.MEANING_FLOOR
    assert not stories.same_story(a, b, hours_apart=24)


@pytest.mark.parametrize(("title", "lede", "courts"), [
    ("Judge rules Apple must stop charging fees on outside purchases", "", {"level:trial"}),
    ("Appeals court denies Apple's bid to pause App Store ruling", "", {"level:appeal"}),
    ("Fifth Circuit says geofence warrants are unconstitutional", "", {"level:appeal",
                                                                      "circuit:5"}),
    ("US appeals court rules geofence warrants are unconstitutional",
     "The New Orleans-based 5th Circuit said the searches break the Fourth Amendment.",
     {"level:appeal", "circuit:5"}),
    ("Full Fourth Circuit upholds geofence evidence in robbery case",
     "The en banc court affirmed the conviction, deepening a split with the Fifth Circuit.",
     {"level:appeal", "circuit:4"}),
    ("Supreme Court hears TikTok's challenge to the ban", "", {"level:supreme"}),
    ("Apple raises iPhone prices", "", set()),
])
def test_which_court_acted(title: str, lede: str, courts: set[str]) -> None:
    assert signature(title, lede).courts == courts


def test_a_ruling_and_its_appeal_or_another_circuit_stay_apart() -> None:
    ruling = signature("Judge rules Apple must stop charging fees on outside app purchases",
                       "The judge found Apple violated an injunction in the Epic Games case.")
    appeal = signature("Appeals court denies Apple's bid to pause App Store ruling in Epic case",
                       "The court refused to halt the order on outside app purchases.")
    assert stories._courts_differ(ruling, appeal)
    assert not stories.same_story(appeal, ruling, hours_apart=20)
    fifth = signature("Fifth Circuit says geofence warrants are unconstitutional",
                      "Searching Google's location data for everyone near a crime is a general "
                      "warrant, the court ruled.")
    fourth = signature("Full Fourth Circuit upholds geofence evidence in robbery case",
                       "The en banc court affirmed the conviction, deepening a split with the "
                       "Fifth Circuit.")
    assert stories._courts_differ(fifth, fourth)
    assert not stories.same_story(fourth, fifth, hours_apart=12)
    # The same court in other words is no conflict.
    assert not stories._courts_differ(
        fifth, signature("US appeals court rules geofence warrants unconstitutional",
                         "The 5th Circuit said the searches break the Fourth Amendment."))


@pytest.mark.parametrize(("title", "events"), [
    ("Sam Altman returns as OpenAI chief executive", {"hire"}),
    ("Sam Altman to return as OpenAI CEO with a new board", {"hire"}),
    ("Fortnite returns to the US App Store", set()),
    ("Shareholders approve Tesla's move to Texas", {"enact"}),
    ("Microsoft closes $69 billion Activision deal after UK approval", {"complete", "enact"}),
    ("Elon Musk completes Twitter takeover", {"complete"}),
    ("Musk takes control of Twitter", {"complete"}),
    ("Louvre closes after jewel heist", set()),
    ("UK watchdog blocks Microsoft's Activision takeover", {"block"}),
    ("Judge blocks Texas age verification law", {"rule"}),
])
def test_more_ways_to_say_what_happened(title: str, events: set[str]) -> None:
    assert headlines.event_kinds(title) == events


def test_a_deal_blocked_and_the_deal_closing_stay_apart() -> None:
    blocked = signature("UK competition watchdog blocks Microsoft's $69bn Activision takeover",
                        "The regulator said the deal would damage competition in the young "
                        "cloud gaming market.")
    closed = signature("Microsoft closes its Activision Blizzard purchase after UK approval",
                       "The $69bn deal, the biggest in gaming, closed on Friday after 20 months "
                       "of regulatory scrutiny.")
    assert blocked.events == {"block"} and closed.events == {"complete", "enact"}
    assert not stories.same_story(closed, blocked, hours_apart=10)
    # Without the two kinds of event, the words would say "the same".
    assert stories.same_story(closed._replace(events=frozenset()),
                              blocked._replace(events=frozenset()), hours_apart=10)


def test_a_rare_word_both_titles_share_anchors_a_near_miss() -> None:
    # Near in words through the ledes only: the titles say nothing in common.
    a = signature("Ministers meet in Geneva", "Negotiators from forty countries gathered to "
                  "discuss plastic pollution treaty language and recycling targets.")
    b = signature("Talks resume after walkout", "Negotiators from forty countries returned to "
                  "the plastic pollution treaty talks over recycling targets.")
    assert stories.score(a, b) > 0.0 and not stories._anchored(a, b)
    c = signature("Plastic treaty talks resume in Geneva", "Negotiators returned on Monday.")
    assert stories._anchored(a, c)  # "Geneva" in both titles
    assert not stories._anchored(a, c, common={"geneva"})  # ... unless every story says it
    # The anchor is one of the near-miss rule's features, and it counts for.
    features = stories._near_features(a, c, 1.0, 0.2, 0.5)
    without = stories._near_features(a, c, 1.0, 0.2, 0.5, common={"geneva"})
    assert stories._near(features) > stories._near(without)


def test_copies_of_one_story_half_a_day_apart_are_joined() -> None:
    # Two outlets' reports of Facebook's first day of trading, the second (the close) 12 hours
    # after the first: a near miss (the words alone fall short of THRESHOLD) that the rule joins.
    # The days apart count only beyond NEAR_HOURS_FREE hours; counted from the first hour, they
    # turned this pair down.
    glitch = signature("Nasdaq Glitches Mar Facebook's Debut",
                       "Technical problems at Nasdaq OMX delayed the start of trading in Facebook "
                       "shares and left some investors unsure whether their orders had gone "
                       "through.")
    close = signature("Facebook shares end flat in tepid Nasdaq debut",
                      "Facebook Inc's shares ended barely above their $38 offer price on Friday, "
                      "as underwriters stepped in to defend the stock.")
    words = stories.score(glitch, close, hours_apart=12)
    assert stories.MEANING_FLOOR <= words < stories.THRESHOLD
    assert stories.same_story(glitch, close, hours_apart=12)
    # Within the free hours the time apart weighs nothing; after them, as before, a day at a time.
    near = stories.meanings(glitch, [close])[0]
    days = [stories._near_features(glitch, close, h, words, near)[7] for h in (0, 8, 20, 60)]
    assert days == [0.0, 0.0, 0.5, (48 - stories.NEAR_HOURS_FREE) / 24]
    # A day and a half apart, the same pair is another story (a follow-up, most likely).
    assert not stories.same_story(glitch, close, hours_apart=36)
