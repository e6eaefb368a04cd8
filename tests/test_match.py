"""Topic matching: every rule of SPEC's topic terms, table-driven, plus the Matcher API."""

from __future__ import annotations

import random

import pytest

from curator.match import Matcher, compile_term, fold
from curator.types import Topic


def hits(term: str, text: str) -> bool:
    return Matcher([Topic(name="t", title="T", any=(term,))]).match(text) == ["t"]


# (term, text, matches?) — one row per rule or edge; the ids say which.
TERMS = [
    # case-insensitive
    pytest.param("trafficking", "TRAFFICKING", True, id="case-upper"),
    pytest.param("Section 230", "section 230", True, id="case-term-upper"),
    # word boundaries
    pytest.param("trafficking", "sex-trafficking rings", True, id="boundary-after-hyphen"),
    pytest.param("trafficking", "traffickingX", False, id="boundary-word-after"),
    pytest.param("trafficking", "antitrafficking", False, id="boundary-word-before"),
    pytest.param("trafficking", "trafficking_report", False, id="boundary-underscore"),
    pytest.param("trafficking", "(trafficking).", True, id="boundary-punctuation"),
    pytest.param("trafficking", "trafficking", True, id="boundary-whole-text"),
    pytest.param("trafficking", "traffickers", False, id="no-implicit-prefix"),
    pytest.param("Section 230", "Section 2300", False, id="boundary-digits"),
    pytest.param("Section 230", "Section 230's future", True, id="boundary-possessive"),
    pytest.param("Meta", "Meta’s board", True, id="boundary-curly-possessive"),
    pytest.param("Meta", "metadata", False, id="boundary-prefix-of-word"),
    # phrases
    pytest.param("content moderation", "content moderation", True, id="phrase"),
    pytest.param("content moderation", "Content  Moderation", True, id="phrase-two-spaces"),
    pytest.param("content moderation", "content\n\tmoderation", True, id="phrase-newline-tab"),
    pytest.param("content moderation", "content\u00a0moderation", True, id="phrase-nbsp"),
    pytest.param("content moderation", "content\u202fmoderation", True, id="phrase-narrow-nbsp"),
    pytest.param("content moderation", "content-moderation", True, id="phrase-hyphen"),
    pytest.param("content moderation", "content\u2011moderation", True, id="phrase-nb-hyphen"),
    pytest.param("content moderation", "moderation content", False, id="phrase-order"),
    pytest.param("content moderation", "content and moderation", False, id="phrase-adjacent"),
    pytest.param("content moderation", "contentmoderation", False, id="phrase-needs-separator"),
    pytest.param("content moderation", "content moderations", False, id="phrase-boundary-end"),
    pytest.param("content moderation", "xcontent moderation", False, id="phrase-boundary-start"),
    pytest.param("sex-trafficking", "sex trafficking", True, id="hyphen-term-space-text"),
    pytest.param("sex-trafficking", "sex-trafficking", True, id="hyphen-term-hyphen-text"),
    pytest.param('"content moderation"', "content moderation", True, id="quoted-phrase"),
    pytest.param("  trafficking  ", "trafficking", True, id="term-whitespace-trimmed"),
    # prefixes
    pytest.param("subpoena*", "subpoenas", True, id="prefix-plural"),
    pytest.param("subpoena*", "Subpoenaed", True, id="prefix-past"),
    pytest.param("subpoena*", "subpoena", True, id="prefix-bare"),
    pytest.param("subpoena*", "resubpoenaed", False, id="prefix-start-boundary"),
    pytest.param("subpoena*", "subpoen", False, id="prefix-too-short"),
    pytest.param("content moder*", "Content Moderators", True, id="prefix-phrase"),
    pytest.param("age verif*", "age-verification", True, id="prefix-phrase-hyphen"),
    # literal, metacharacters, non-word edges
    pytest.param("C++", "written in C++ and Rust", True, id="cpp"),
    pytest.param("C++", "C++17 features", True, id="cpp-followed-by-digits"),
    pytest.param("C++", "ABC++", False, id="cpp-start-boundary"),
    pytest.param("C++", "C plus plus", False, id="cpp-literal"),
    pytest.param("C++", "Cxx", False, id="cpp-plus-is-not-quantifier"),
    pytest.param("U.S.", "the U.S. Senate", True, id="us-dots"),
    pytest.param("U.S.", "in the U.S.", True, id="us-end-of-text"),
    pytest.param("U.S.", "the US Senate", False, id="us-dots-literal"),
    pytest.param("U.S.", "UxSx", False, id="us-dot-is-not-wildcard"),
    pytest.param("U.S.", "FU.S. ", False, id="us-start-boundary"),
    pytest.param(".NET", "ASP.NET Core", True, id="dotnet-non-word-start"),
    pytest.param(".NET", ".NETwork", False, id="dotnet-end-boundary"),
    pytest.param("AT&T", "AT&T settles", True, id="ampersand"),
    pytest.param("(a|b)", "a", False, id="regex-alternation-literal"),
    pytest.param("(a|b)", "see (a|b) here", True, id="regex-group-literal"),
    pytest.param("$5", "a $5 fine", True, id="dollar"),
    pytest.param("x*y", "x*y", True, id="inner-star-literal"),
    pytest.param("x*y", "xxy", False, id="inner-star-not-quantifier"),
    pytest.param("#metoo", "the #MeToo movement", True, id="hashtag"),
    # Unicode
    pytest.param("Meta's", "Meta’s plans", True, id="apostrophe-text-curly"),
    pytest.param("Meta’s", "Meta's plans", True, id="apostrophe-term-curly"),
    pytest.param("children's", "CHILDREN‘S", True, id="apostrophe-left-quote"),
    pytest.param("strasse", "Straße", True, id="casefold-eszett"),
    pytest.param("Straße", "STRASSE", True, id="casefold-eszett-term"),
    pytest.param("FTC", "ＦＴＣ", True, id="nfkc-fullwidth"),
    pytest.param("fine", "\ufb01ne", True, id="nfkc-ligature"),
    pytest.param("café", "Cafe\u0301 owners", True, id="nfkc-combining"),
    pytest.param("cafe", "café", False, id="accents-significant"),
    pytest.param("ΣΟΦΙΑ", "σοφια", True, id="greek-case"),
    pytest.param("trafficking", "traf\u00adficking", True, id="soft-hyphen-invisible"),
    pytest.param("trafficking", "traf\u200bficking", True, id="zero-width-space-invisible"),
    pytest.param("Москва", "в москве", False, id="cyrillic-boundary"),
    pytest.param("Москв*", "в москве", True, id="cyrillic-prefix"),
    pytest.param("naïve", "NAÏVE", True, id="latin-diaeresis-case"),
    pytest.param("über", "Xüber", False, id="unicode-word-boundary"),
]


@pytest.mark.parametrize(("term", "text", "expected"), TERMS)
def test_term(term: str, text: str, expected: bool) -> None:
    assert hits(term, text) is expected


@pytest.mark.parametrize(("term", "text", "expected"), TERMS)
def test_compile_term_agrees(term: str, text: str, expected: bool) -> None:
    assert (compile_term(term).search(fold(text)) is not None) is expected


@pytest.mark.parametrize("term", ["", "   ", "*", '""', "-", " - "])
def test_empty_terms_are_errors(term: str) -> None:
    with pytest.raises(ValueError):
        compile_term(term)
    with pytest.raises(ValueError, match="'bad'"):
        Matcher([Topic(name="bad", title="Bad", any=("ok", term))])


PA = Topic(
    name="platform-accountability",
    title="Platform accountability",
    any=("Section 230", "trafficking", "content moderation", "subpoena*"),
    none=("sponsored",),
)
KIDS = Topic(
    name="child-safety",
    title="Child safety",
    any=("children", "teen*", "minors"),
    all=("online",),
    none=("advert*",),
)
COURT = Topic(name="courts", title="Courts", any=("court", "judge"), all=("ruling", "appeal*"))
ALL_ONLY = Topic(name="all-only", title="All only", any=(), all=("alpha", "beta"))


# (texts, expected topic names) for a matcher over PA, KIDS, COURT, ALL_ONLY
TOPIC_RULES = [
    pytest.param(("nothing here",), [], id="no-match"),
    pytest.param(("Section 230 reform",), ["platform-accountability"], id="one-any"),
    pytest.param(("Sponsored: Section 230",), [], id="none-vetoes"),
    pytest.param(("Section 230", "", "sponsored content"), [], id="none-in-other-field"),
    pytest.param(("Teens online",), ["child-safety"], id="any-and-all"),
    pytest.param(("Teens at school",), [], id="all-missing"),
    pytest.param(("Teens", "are", "online"), ["child-safety"], id="all-in-another-field"),
    pytest.param(("teens online advertising",), [], id="none-prefix-vetoes"),
    pytest.param(("The court ruling on appeal",), ["courts"], id="two-alls"),
    pytest.param(("The court ruling",), [], id="one-of-two-alls"),
    pytest.param(("alpha beta",), ["all-only"], id="no-any-only-all"),
    pytest.param(("alpha",), [], id="no-any-missing-all"),
    pytest.param(
        ("Judge subpoenas minors' online records", "", "ruling appealed"),
        ["platform-accountability", "child-safety", "courts"],
        id="config-order",
    ),
    pytest.param(("content", "moderation"), [], id="phrase-not-across-fields"),
    pytest.param(("Section", "230"), [], id="phrase-not-across-fields-2"),
    pytest.param(("subpoena", "ed"), ["platform-accountability"], id="prefix-stops-at-field"),
    pytest.param((), [], id="no-texts"),
]


@pytest.mark.parametrize(("texts", "expected"), TOPIC_RULES)
def test_topic_rules(texts: tuple[str, ...], expected: list[str]) -> None:
    assert Matcher([PA, KIDS, COURT, ALL_ONLY]).match(*texts) == expected


def test_topic_with_no_terms_never_matches() -> None:
    m = Matcher([Topic(name="empty", title="Empty", any=()), PA])
    assert m.match("Section 230") == ["platform-accountability"]


def test_no_topics() -> None:
    m = Matcher([])
    assert m.match("anything") == []
    assert m.explain("anything") == {}
    assert m.spans("anything") == []


def test_explain_lists_found_terms_as_written() -> None:
    m = Matcher([PA, KIDS, COURT])
    got = m.explain("Subpoenas over Section\u00a0230", "", "Teens ONLINE, minors too")
    assert got == {
        "platform-accountability": ["Section 230", "subpoena*"],
        "child-safety": ["teen*", "minors", "online"],
    }


def test_explain_leaves_out_vetoed_topics() -> None:
    assert Matcher([PA]).explain("sponsored: Section 230") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("no terms", [], id="none"),
        pytest.param("Section 230", [(0, 11)], id="whole"),
        pytest.param("sex-trafficking, trafficking", [(4, 15), (17, 28)], id="two"),
        pytest.param("Subpoenaed!", [(0, 10)], id="prefix-covers-word"),
        pytest.param("content moderation", [(0, 18)], id="phrase"),
        pytest.param("content\u00a0 moderation", [(0, 19)], id="phrase-nbsp"),
        # "content moderation" and "moderation teams" overlap: merged into one span
        pytest.param("content moderation teams", [(0, 24)], id="overlap-merged"),
        pytest.param("Straße ok", [(0, 6)], id="casefold-longer"),
        pytest.param("x \ufb01ne y", [(2, 5)], id="ligature-one-char"),
        pytest.param("Cafe\u0301 trafficking", [(0, 5), (6, 17)], id="combining"),
        pytest.param("a traf\u00adficking b", [(2, 14)], id="soft-hyphen-inside"),
        pytest.param("Meta’s ＦＴＣ", [(0, 4), (7, 10)], id="fullwidth"),
    ],
)
def test_spans(text: str, expected: list[tuple[int, int]]) -> None:
    m = Matcher(
        [
            Topic(
                name="a",
                title="A",
                any=("Section 230", "trafficking", "subpoena*", "content moderation", "fine"),
            ),
            Topic(
                name="b",
                title="B",
                any=("moderation teams", "strasse", "café", "meta", "ftc"),
                none=("ok",),
            ),
        ]
    )
    assert m.spans(text) == expected


def test_spans_limited_to_topics() -> None:
    m = Matcher([PA, KIDS])
    text = "Teens and Section 230"
    assert m.spans(text) == [(0, 5), (10, 21)]
    assert m.spans(text, topics=["child-safety"]) == [(0, 5)]
    assert m.spans(text, topics=["platform-accountability"]) == [(10, 21)]
    assert m.spans(text, topics=[]) == []
    assert m.spans(text, topics=["unknown"]) == []


def test_spans_include_all_terms_but_not_none_terms() -> None:
    m = Matcher([KIDS])
    assert m.spans("teen ads online advertising") == [(0, 4), (9, 15)]


def test_duplicate_and_overlapping_terms() -> None:
    t = Topic(name="d", title="D", any=("fine", "fine*", "Fine", "fine print"))
    m = Matcher([t])
    assert m.match("the fine print") == ["d"]
    assert m.match("finest") == ["d"]
    assert m.explain("fine print") == {"d": ["fine", "fine*", "Fine", "fine print"]}
    assert m.spans("the fine print") == [(4, 14)]


def test_matcher_agrees_with_term_by_term_definition() -> None:
    """The factored alternations and the prefilter give what the rules say, term by term."""
    rng = random.Random(20261124)
    vocab = [
        "sec", "section", "230", "2300", "trafficking", "sex-trafficking", "content",
        "moderation", "moderators", "subpoena", "subpoenaed", "c++", "u.s.", "teen", "teens",
        "online", "sponsored", "the", "a", "of", "fine", "finest", "x", "-", "’s", ".net",
    ]
    topics = [
        Topic(name="p", title="P", any=("Section 230", "section", "sex", "subpoena*", "sec"),
              none=("sponsored",)),
        Topic(name="q", title="Q", any=("content moderation", "moderat*", "C++", ".NET"),
              all=("the",)),
        Topic(name="r", title="R", any=("U.S.", "fine", "fine*", "teens"), none=("x",)),
        Topic(name="s", title="S", any=(), all=("online", "teen*")),
    ]
    m = Matcher(topics)

    def naive(*texts: str) -> list[str]:
        text = "\x00".join(fold(t) for t in texts)

        def found(term: str) -> bool:
            return compile_term(term).search(text) is not None

        return [
            t.name
            for t in topics
            if (any(found(x) for x in t.any) or (not t.any and bool(t.all)))
            and all(found(x) for x in t.all)
            and not any(found(x) for x in t.none)
        ]

    for _ in range(3000):
        texts = tuple(
            rng.choice([" ", "  ", "-", ", "]).join(rng.choices(vocab, k=rng.randint(0, 8)))
            for _ in range(rng.randint(1, 3))
        )
        assert m.match(*texts) == naive(*texts), texts


def test_big_text_and_many_terms() -> None:
    """No pathological backtracking: a long text full of near-misses stays quick."""
    terms = tuple(f"term{i} word{i}*" for i in range(200)) + ("content moderation",)
    m = Matcher([Topic(name="big", title="Big", any=terms)])
    text = ("content " * 5000) + "term1  \n word1s"
    assert m.match(text) == ["big"]
    assert m.spans(text)[-1] == (len(text) - 15, len(text))


def test_an_all_group_needs_any_one_of_its_terms() -> None:
    topic = Topic(name="fines", title="Fines", any=("regulator", "watchdog"),
                  all=(("fine", "fines", "fined"), ("TikTok", "Meta*")))
    m = Matcher([topic])
    assert m.match("Regulator fines TikTok €345m", "") == ["fines"]
    assert m.match("Watchdog", "Metaverse firm fined") == ["fines"]
    assert m.match("Regulator fines a utility", "") == []  # second group missing
    assert m.match("Regulator praises TikTok", "") == []  # first group missing
    assert m.explain("Regulator fines TikTok", "") == {"fines": ["regulator", "fines", "TikTok"]}
    assert m.spans("Regulator fines TikTok") == [(0, 9), (10, 15), (16, 22)]


def test_a_topic_with_only_all_groups_is_gated_by_the_first() -> None:
    topic = Topic(name="g", title="G", any=(), all=(("alpha", "beta"), "gamma"))
    m = Matcher([topic])
    assert m.match("beta then gamma") == ["g"]
    assert m.match("gamma alone") == []


def test_an_empty_all_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty group"):
        Matcher([Topic(name="e", title="E", any=("x",), all=((),))])


def test_where_names_the_fields_each_term_is_found_in() -> None:
    topic = Topic(name="s", title="S", any=("geofence", "warrant*"), all=(("court", "judge"),))
    m = Matcher([topic, Topic(name="other", title="O", any=("nothing here",))])
    fields = {"title": "Court limits geofence warrants", "summary": "A judge on warrants.",
              "content": ""}
    assert m.where(fields) == {"s": [("geofence", ["title"]), ("warrant*", ["title", "summary"]),
                                     ("court", ["title"]), ("judge", ["summary"])]}
    assert m.where({"title": "geofence", "summary": "", "content": ""}) == {}


@pytest.mark.parametrize(("term", "text", "found"), [
    ("weaken* encrypt*", "plans to weaken encryption", True),
    ("weaken* encrypt*", "weakening end-to-end encrypted chats", False),
    ("weaken* encrypt*", "it weakens encrypted apps", True),
    ("monitor* social media", "agencies monitoring social media", True),
    ("monitor* social media", "a monitor of social media", False),
    ("a * b", "a * b", True),
])
def test_every_word_of_a_phrase_may_be_a_prefix(term: str, text: str, found: bool) -> None:
    assert hits(term, text) is found
