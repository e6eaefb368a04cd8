"""The sameness judgement and in-memory grouping of curator.stories, signal by signal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from curator import stories
from curator.stories import Article, signature

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)


def art(i: int, source: str, title: str, text: str = "", hours: float = 0.0) -> Article:
    return Article(id=i, source=source, title=title, text=text, seen=T0 + timedelta(hours=hours))


@pytest.mark.parametrize("title", ["Live updates", "Morning briefing", "Podcast: episode 212",
                                   "Live: latest updates", "The Daily newsletter",
                                   "Today's headlines, 3 March 2026"])
def test_generic_titles_are_not_stories(title: str) -> None:
    assert stories.is_generic(title)
    a = signature(title, "Follow the latest developments in Ukraine.")
    b = signature(title, "Follow the latest developments in Ukraine.")
    assert not stories.same_story(a, b)


@pytest.mark.parametrize("title", ["Live Nation sued by Justice Department",
                                   "Podcast app Overcast adds transcripts"])
def test_a_format_word_in_a_real_title_is_not_generic(title: str) -> None:
    assert not stories.is_generic(title)


def test_amounts_in_any_spelling_are_one_figure() -> None:
    spellings = ["$69bn", "$69 billion", "69,000,000,000 dollars", "$69B"]
    keys = [signature("Deal", f"Microsoft pays {s} for Activision").amounts for s in spellings]
    assert keys[0] == {"$6.9e+10"}
    assert all(k == keys[0] for k in keys[:2] + keys[3:])
    assert "6.9e+10" in signature("", "69,000,000,000").figures
    assert signature("", "up 7% and 5.25 per cent").amounts == {"7%", "5.25%"}
    # Years and small counts say little: they are not figures.
    assert not signature("", "in 2024 three times").figures


def test_a_regulator_is_its_initials() -> None:
    sig = signature("Amazon sued", "The Federal Trade Commission sued Amazon on Wednesday.")
    assert "ftc" in sig.terms and "ftc" in sig.names
    assert "ftc" in signature("FTC sues Amazon", "").terms


PRIME = signature("US FTC sues Amazon, alleging it tricked users into Prime sign-ups",
                  "The Federal Trade Commission sued Amazon.com, accusing the retailer of enrolling"
                  " consumers in Prime without consent and making it hard to cancel.")


def test_same_event_in_other_words_is_one_story() -> None:
    a = PRIME
    b = signature("The FTC is suing Amazon over its Prime cancellation maze",
                  "The agency says Amazon used dark patterns to push shoppers into Prime"
                  " subscriptions and made cancelling hard.")
    assert stories.same_story(a, b, hours_apart=2)


def test_same_company_and_regulator_other_event_stays_apart() -> None:
    a = PRIME
    b = signature("Judge lets FTC's antitrust case against Amazon move toward trial",
                  "A federal judge declined to dismiss the Federal Trade Commission's lawsuit"
                  " accusing Amazon of illegally maintaining a monopoly.")
    assert not stories.same_story(a, b, hours_apart=2)


def test_contradicting_amounts_count_against() -> None:
    base = "Microsoft agrees to buy the games maker Activision Blizzard for {}"
    same = stories.score(signature("Microsoft buys Activision", base.format("$69bn")),
                         signature("Microsoft to acquire Activision", base.format("$69 billion")))
    other = stories.score(signature("Microsoft buys Activision", base.format("$69bn")),
                          signature("Microsoft to acquire Activision", base.format("$12 billion")))
    assert same > other


def test_time_apart_lowers_the_score() -> None:
    a = signature("Tesla recalls 2 million cars over Autopilot", "NHTSA investigation")
    b = signature("Tesla recalling two million vehicles over Autopilot defect", "")
    assert stories.score(a, b, 0) > stories.score(a, b, 40)


def test_no_summary_still_groups_on_the_title() -> None:
    a = signature("Nintendo confirms Switch 2 console in first-look video", "")
    b = signature("Nintendo Switch 2 is official, launching in 2025", "")
    assert stories.same_story(a, b)
    assert not stories.same_story(signature("", ""), signature("", ""))


def test_grouping_joins_across_sources_but_not_within_one() -> None:
    story_of = stories.group([
        art(1, "Reuters", "Tesla recalls over 2 million US vehicles to fix Autopilot defect",
            "The recall follows an NHTSA investigation into Autopilot crashes."),
        art(2, "BBC", "Tesla recalls two million cars over Autopilot safety concerns",
            "The US road safety regulator NHTSA said Autopilot controls may not prevent misuse.", 1),
        # A second Reuters piece on the same recall is that outlet's follow-up: its own candidate.
        art(3, "Reuters", "Tesla recall of 2 million vehicles over Autopilot: what owners need to do",
            "The NHTSA recall of Autopilot is a software update.", 2),
    ])
    assert story_of[2] == story_of[1] == 1
    assert story_of[3] == 3


def test_window_bounds_the_story() -> None:
    a = art(1, "Reuters", "Tesla recalls over 2 million US vehicles to fix Autopilot defect", "NHTSA")
    b = art(2, "BBC", "Tesla recalls 2 million US vehicles to fix Autopilot defect", "NHTSA", 60)
    assert stories.group([a, b], window_hours=48) == {1: 1, 2: 2}
    assert stories.group([a, b], window_hours=72) == {1: 1, 2: 1}


def test_one_story_from_300_outlets_is_one_story_and_compares_a_bounded_number() -> None:
    titles = ["Bank of England cuts interest rates to 4.5%",
              "Bank of England lowers base rate to 4.5% and halves growth forecast",
              "BoE cuts Bank Rate to 4.5% as two policymakers back bigger cut"]
    summary = "The Monetary Policy Committee voted 7-2 to cut Bank Rate to 4.5% from 4.75%."
    articles = [art(i, f"Outlet {i}", titles[i % 3], summary, i / 100) for i in range(300)]
    calls = 0
    real = stories.score

    def counting(*args: object, **kwargs: object) -> float:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    stories.score = counting  # type: ignore[assignment]
    try:
        story_of = stories.group(articles)
    finally:
        stories.score = real  # type: ignore[assignment]
    assert set(story_of.values()) == {0}
    assert calls <= 300 * stories.MAX_COMPARED


@pytest.mark.parametrize(("first", "then"), [
    (("Sam Bankman-Fried convicted of fraud over FTX collapse",
      "A New York jury found the FTX founder guilty on all seven counts after a month-long"
      " trial."),
     ("Sam Bankman-Fried sentenced to 25 years in prison",
      "The FTX founder was sentenced for stealing $8 billion from customers of the crypto"
      " exchange.")),
    (("Epic sues Google over Play Store fees and billing rules",
      "Epic Games accused Google of running an illegal monopoly over Android app distribution"
      " and in-app billing on the Play Store."),
     ("Judge rules Google's Play Store is an illegal monopoly in Epic case",
      "A federal jury sided with Epic Games, finding that Google's app store and billing"
      " service on Android phones are an illegal monopoly.")),
])
def test_the_next_step_of_the_same_case_stays_apart(first: tuple[str, str],
                                                     then: tuple[str, str]) -> None:
    """A verdict and the sentencing, a lawsuit and the ruling: the same names, another event."""
    assert signature(*first).events and signature(*then).events
    assert not stories.same_story(signature(*first), signature(*then), hours_apart=4)
    story_of = stories.group([art(1, "Reuters", *first), art(2, "AP", *then, hours=4)])
    assert story_of[2] == 2


def test_the_same_step_told_in_other_verbs_is_one_event() -> None:
    a = signature("Sam Bankman-Fried sentenced to 25 years in prison", "")
    b = signature("Judge jails FTX founder Bankman-Fried for 25 years", "")
    assert a.events & b.events
    assert stories.same_story(a, b, hours_apart=1)
    # "rules" is a ruling only when a court rules; "tech rules" are no event.
    assert "rule" not in signature("EU fines Apple under its tech rules", "").events
    assert "rule" in signature("Apple must stop charging fees, judge rules", "").events
    assert signature("Appeals court hears Apple's bid", "").events == {"trial"}


def test_another_of_the_same_kind_stays_apart() -> None:
    """Two banks, two circuits, two acts: the name's last word says the kind, the rest which."""
    first_republic = signature(
        "JPMorgan buys First Republic Bank after regulators seize it",
        "Regulators seized First Republic Bank and sold most of its assets to JPMorgan Chase, the"
        " second-largest bank failure in US history.")
    svb = signature("Regulators seize Silicon Valley Bank in biggest bank failure since 2008",
                    "The FDIC took control of Silicon Valley Bank after depositors pulled $42 billion"
                    " in a day.")
    assert (("silicon", "valley"), "bank") in svb.runs
    assert not stories.same_story(first_republic, svb, hours_apart=3)
    # The same bank named twice is no conflict.
    svb_again = signature("FDIC takes over Silicon Valley Bank as depositors flee", "")
    assert stories.same_story(svb, svb_again, hours_apart=3)


def test_the_same_action_against_another_party_stays_apart() -> None:
    """One attorney general suing two companies in a week: the same verb, another defendant."""
    tiktok = signature("Texas sues TikTok over children's privacy",
                       "Attorney General Ken Paxton said the app shared minors' data without their"
                       " parents' consent.")
    roblox = signature("Texas attorney general sues Roblox, citing predators on the platform",
                       "Ken Paxton said the gaming site failed to keep children safe.")
    assert tiktok.events == roblox.events == {"sue"}
    assert not stories.same_story(tiktok, roblox, hours_apart=3)
    # An acronym may stand for a name the other spells out: no conflict from "DOJ".
    doj = signature("Visa accused of illegally monopolizing debit cards in DOJ lawsuit",
                    "Regulators want the card network to stop paying merchants to avoid rivals.")
    justice = signature("Justice Department sues Visa over debit monopoly",
                        "The lawsuit says Visa illegally shut out rivals.")
    assert stories.same_story(doj, justice, hours_apart=3)
    # Agreeing amounts make it one fine, whoever each title names.
    dutch = signature("Dutch privacy watchdog fines Uber 290 million euros over driver data", "")
    eu = signature("Uber hit with €290M GDPR fine for moving EU driver data to the US", "")
    assert stories.same_story(dutch, eu, hours_apart=1)


def test_the_same_kind_of_event_with_the_same_names_counts_for() -> None:
    """Sharing only names is discounted, unless both titles say the same thing happened."""
    sued = signature("Ohio sues Kroger over opioids",
                     "Attorney General Dave Yost filed the case in state court on Monday.")
    lawsuit = signature("Kroger pharmacies face Ohio lawsuit", "")
    assert sued.events == lawsuit.events == {"sue"}
    assert stories.same_story(sued, lawsuit, hours_apart=2)


def test_words_that_begin_alike_nearly_match() -> None:
    """"Monopolized" and "monopolist" stem apart; their shared beginning still counts."""
    ruled = signature("Visa monopolized debit payments, Justice Department alleges", "")
    monopolist = signature("Justice Department calls Visa a debit monopolist", "")
    giant = signature("Justice Department calls Visa a debit giant", "")
    assert stories.score(ruled, monopolist) > stories.score(ruled, giant)


def test_what_happened_comes_from_the_lede_when_the_title_does_not_say() -> None:
    assert signature("Justices wary of curbing the tech liability shield",
                     "Justices hearing arguments in the case signalled reluctance. A ruling is due"
                     " by June.").events == {"trial"}
    assert signature("Jury finds Google's Play Store is an illegal monopoly", "").events == {
        "verdict"}


def test_a_ledes_event_is_not_set_against_a_title_with_no_summary() -> None:
    """A title that says nothing happened, beside a bare title, is judged by its title too: its
    summary's "handled warranty appeals" is no appeal against "Hackers stole ..."."""
    told = signature("Acme Cloud says 40,000 customers' passport scans leaked",
                     "The leak hit a contractor that handled warranty appeals for the company.")
    bare = signature("Hackers stole passport scans of 40,000 Acme Cloud customers", "")
    summarised = signature("Hackers stole passport scans of 40,000 Acme Cloud customers",
                           "The company said its systems were hacked on Monday.")
    assert told.events == {"appeal"} and bare.events == summarised.events == {"hack"}
    assert not stories._set_apart(told, bare) and not stories._set_apart(bare, told)
    assert stories.score(told, bare, 4) >= stories.THRESHOLD / stories.EVENT_CONFLICT
    # Two summaries are read as before, and so is a title that says what happened.
    assert stories._set_apart(told, summarised)
    assert stories._set_apart(signature("Acme Cloud appeals passport scan leak ruling", ""), bare)


def test_one_actor_figure_and_object_in_both_titles_count_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Both titles write the same figure and share a name and another telling word: what an
    editor joins at once, though the ledes tell different details."""
    approve = signature("Globex shareholders approve Ada Byrne's $40 billion bonus",
                        "More than 70% of votes cast backed the plan, which could hand Byrne 90"
                        " million shares if Globex hits revenue milestones over the next decade.")
    hand = "Globex Investors Hand Ada Byrne a Pay Deal That Could Be Worth $40 Billion"
    lede = ("Holders sided with the board despite objections from Ontario's teachers' pension"
            " fund and proxy advisers Halvorsen and Pike.")
    assert approve.marks == signature(hand, lede).marks == {"$4e+10"}
    assert stories.score(approve, signature(hand, lede), 17) >= stories.THRESHOLD
    # Another figure, another party named in the title, or a different event: no tie.
    for other in (signature(hand.replace("$40", "$30"), lede),
                  signature(hand.replace("Globex Investors", "Vandelay Investors"), lede)):
        assert not stories._tied(approve, other)
    sued = signature("Ruritania sues Globex over $40 million data contract", "")
    ruled = signature("Judge rules for Globex in $40 million Ruritania data contract case", "")
    assert sued.events == {"sue"} and ruled.events == {"rule"} and stories._tied(sued, ruled)
    tied = stories.score(sued, ruled)
    monkeypatch.setattr(stories, "TIE", 0.0)
    assert stories.score(sued, ruled) == tied
    assert stories.score(approve, signature(hand, lede), 17) < stories.THRESHOLD


def test_an_article_tied_to_one_of_a_storys_articles_joins_it() -> None:
    """A story is judged by the mean over its articles, but one that writes the same actor,
    figure and object as one of them joins it, though another of them tells an aside."""
    approve = art(1, "Wire", "Globex shareholders approve Ada Byrne's $40 billion bonus",
                  "More than 70% of votes cast backed the plan, which could hand Byrne 90 million"
                  " shares if Globex hits revenue milestones over the next decade.")
    dances = art(2, "Business TV",
                 "Byrne dances on stage with robots after Globex investors back her bonus plan",
                 "", 1)
    lede = ("Holders sided with the board despite objections from Ontario's teachers' pension"
            " fund and proxy advisers Halvorsen and Pike.")
    hand = art(3, "Journal",
               "Globex Investors Hand Ada Byrne a Pay Deal That Could Be Worth $40 Billion", lede, 17)
    assert stories.group([approve, dances, hand]) == {1: 1, 2: 1, 3: 1}
    # Not when the title says something else happened than the story's titles do.
    sue = art(3, "Journal", "Globex Investors Sue Ada Byrne Over a Pay Deal Worth $40 Billion",
              lede, 17)
    assert stories.group([approve, dances, sue])[3] == 3


def test_a_court_both_titles_name_is_no_conflict() -> None:
    """One title names two courts, the other one of them: the same case, not another court's."""
    a = signature("In geofence case, the Supreme Court leaves a District Court ruling in place", "")
    b = signature("Geofence warrant case turned away by the Supreme Court", "")
    assert stories.same_story(a, b, hours_apart=1)


@pytest.mark.parametrize("title", ["Amazon settles with the FTC but admitted no wrongdoing",
                                   "Apple's AirPods get a hearing aid feature",
                                   "Maui fires now deadliest in modern US history",
                                   "Pope Francis passes away at 88"])
def test_words_that_only_look_like_an_event(title: str) -> None:
    """A denial, a hearing aid, wildfires and a death report no admission, hearing, firing or vote."""
    assert signature(title, "").events <= {"settle"}
