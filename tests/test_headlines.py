"""What a headline says (curator.headlines), and how the judgement uses it: one event told in
other words (another verb for the same kind of event, a currency, a body's other name, a company
that is the title's first word) and the traps it must still keep apart."""

from __future__ import annotations

import pytest

from curator import headlines, stories
from curator.stories import signature


@pytest.mark.parametrize(("title", "events"), [
    ("Microsoft to cut 10,000 jobs as tech layoffs deepen", {"layoff"}),
    ("Microsoft laying off 10,000 employees, Satya Nadella says", {"layoff"}),
    ("Intel to slash 15% of its workforce", {"layoff"}),
    ("Airline announces job cuts", {"layoff"}),
    ("Shops cut prices for the sales", set()),
    ("Sundar Pichai tells Google staff jobs are being cut", {"layoff"}),
    ("Prices are being cut at Tesla", set()),
    ("Sam Bankman-Fried convicted of fraud in the collapse of FTX", {"verdict"}),
    ("SBF Guilty on All Counts", {"verdict"}),
    ("FTX founder found guilty of stealing billions", {"verdict"}),
    ("Former FTX executive pleads guilty to fraud", {"plea"}),
    ("KOSA clears the Senate", {"enact"}),
    ("Spot Bitcoin ETFs Get Green Light After Decade of Rejections", {"enact"}),
    ("UK's online safety bill finally becomes law", {"sign"}),
    ("UK's Online Safety Act gets royal assent", {"sign"}),
    ("Governor signs age-verification bill into law", {"sign"}),
    ("Adobe, Figma abandon $20 billion deal on regulatory hurdles", {"abandon"}),
    ("Adobe and Figma call off their $20 billion acquisition", {"abandon"}),
    ("Regulatory scrutiny sinks Adobe's acquisition of design startup", {"abandon"}),
    ("Storm sinks cargo ship off Cornwall", set()),
    ("Intel CEO Pat Gelsinger retires as the chipmaker struggles", {"depart"}),
    ("Intel pushes out Gelsinger after board loses confidence", {"depart"}),
    ("Disney chief Bob Iger steps down", {"depart"}),
    ("US Supreme Court sidesteps challenge to internet companies' legal shield", {"rule"}),
    ("Supreme Court punts on Section 230 after Twitter's win", {"rule"}),
    ("Google and Twitter win at the Supreme Court in terrorism cases", {"rule"}),
    ("Supreme Court hears arguments on Florida and Texas laws", {"trial"}),
    # A trial won or lost has ended: its verdict, as a jury's finding is.
    ("Epic Games Beats Google in Jury Trial Over App Store Dominance", {"verdict"}),
    ("Google loses antitrust trial brought by 'Fortnite' maker Epic Games", {"verdict"}),
    ("Meta faces FTC in landmark antitrust trial", {"trial"}),
    ("Anthropic wins a key ruling on AI training, but will face trial over piracy", {"rule", "trial"}),
    ("Supreme Court keeps hold on Florida and Texas laws", {"rule"}),
    # A capitalised word inside a sentence-case title is a name's, not a verb.
    ("Apple is switching off its Advanced Data Protection tool for users in the UK", set()),
    ("Apple Kills Its Plan to Scan Your Photos for CSAM", {"abandon"}),
    ("Apple drops plan to check iPhone photos", {"abandon"}),
    ("SEC says its X account was compromised after fake post", {"hack"}),
    ("Retailer confirms data breach affecting millions", {"hack"}),
    ("Demonstrators breach parliament", set()),
    ("CrowdStrike says the outage was not a cyberattack", set()),
    ("Company admitted no wrongdoing", set()),
    ("Retailer hit by a cyberattack", {"hack"}),
    ("Airline cyber attack: data of millions exposed", {"hack"}),
    ("Carrier hit by cyber-attack on its billing systems", {"hack"}),
    # A court that halts or pauses a law has ruled; enforcing a judgment is its next step.
    ("State age-verification law halted by federal judge", {"rule"}),
    ("Appeals court pauses ruling against Google's app store", {"rule"}),
    ("Judge blocked the law on Tuesday", {"rule"}),
    ("Union halts strike at the plant", set()),
    ("Creditors move to seize Venezuela's Citgo stake to satisfy arbitration award", {"enforce"}),
    ("Country ordered to hand over oil stake to satisfy judgment", {"enforce"}),
    ("Brussels starts to enforce its new online content rules", set()),
    # A law or ban blocked, halted or on hold was so by a court; a court that clears has ruled; an
    # appeal won or lost has been ruled on.
    ("Texas's age-verification law is on hold", {"rule"}),
    ("State's social media ban blocked days before it took effect", {"rule"}),
    ("Regulator blocks chipmaker's takeover", {"block"}),
    ("Supreme Court clears the way for the ban on Sunday", {"rule"}),
    ("Senate clears the online safety bill", {"enact"}),
    ("Bank wins landmark appeal over customer data", {"rule"}),
    ("Carmaker loses final appeal against emissions fine", {"rule", "fine"}),
    ("Carmaker to appeal emissions fine", {"appeal", "fine"}),
    # A regulator or a government ordering someone is its own step; a court's order is a ruling.
    ("FTC orders Meta, Snap and others to hand over chatbot safety data", {"order"}),
    ("Watchdog ordered to reopen its review of the merger", {"order"}),
    ("Exchange glitch left traders unsure whether their orders went through", set()),
    ("Police seize counterfeit phones at the border", set()),
    ("Governor takes social media giant to court over teen addiction", {"sue"}),
    ("The Kids Online Safety Act is now law", {"sign"}),
])
def test_one_kind_of_event_in_other_words(title: str, events: set[str]) -> None:
    assert headlines.event_kinds(title) == events


def test_amounts_keep_their_currency() -> None:
    amounts, _ = headlines.amount_keys(
        "Meta fined €1.2bn, or $1.3 billion; Apple pays 1.8 billion euros and USD 5m; up 10%")
    assert amounts == {"€1.2e+09", "$1.3e+09", "€1.8e+09", "$5e+06", "10%"}


@pytest.mark.parametrize(("a", "b", "agree"), [
    ("$2.5e+07", "2.5e+07", 2),        # "$25M" and "25 million": the same
    ("$1.4e+09", "$1.38e+09", 1),      # "$1.4bn" is "$1.375bn" rounded
    ("€1.8e+09", "€1.84e+09", 1),
    ("$1.3e+09", "€1.2e+09", 1),       # one fine in two currencies
    ("€1.2e+09", "€3.9e+08", 0),       # two fines
    ("$3.68e+08", "€5.3e+08", 0),      # too far apart for one amount in two currencies
    ("$1e+10", "$1.5e+10", 0),
    ("10%", "10%", 2),
    ("10%", "$1e+07", 0),
])
def test_amounts_agree_exactly_roughly_or_not(a: str, b: str, agree: int) -> None:
    assert headlines.amounts_agree(a, b) == agree
    assert headlines.amounts_agree(b, a) == agree


def test_one_fine_in_two_currencies_is_no_contradiction() -> None:
    dollars = signature("Meta hit with record $1.3 billion EU privacy fine over data transfers", "")
    euros = signature("Facebook owner fined €1.2bn for mishandling user information", "")
    other = signature("Meta fined €390M by Irish regulator over forced consent to ads", "")
    assert stories._amounts(dollars, euros) == (0, False)
    assert stories._amounts(euros, other) == (0, True)
    # The index keys stay the value alone, as before the currency was kept.
    assert "#1.3e+09" in dollars.keys and "#1.2e+09" in euros.keys


@pytest.mark.parametrize(("a", "b", "agree"), [
    ("€1.06e+09", "$1.45e+09", 1),   # the euro at 1.37 dollars
    ("£5e+08", "$9.5e+08", 1),       # the pound near two dollars
    ("¥5e+10", "$4.5e+08", 1),       # the yen at 111
    ("€1e+09", "$3e+09", 0),
    ("£1e+08", "€4e+08", 0),
    ("¥5e+10", "$5e+10", 0),
])
def test_one_sum_in_two_currencies_at_any_rate_of_the_century(a: str, b: str, agree: int) -> None:
    assert headlines.amounts_agree(a, b) == agree
    assert headlines.amounts_agree(b, a) == agree


@pytest.mark.parametrize(("text", "amount"), [
    ("Regulator fines the app maker 310 mln euros", "€3.1e+08"),
    ("App maker fined EUR310m over adverts", "€3.1e+08"),
    ("Watchdog fines carrier USD 12 mln", "$1.2e+07"),
    ("Competition body slaps Rs 1,337.76 crore penalty on search giant", "₹1.34e+10"),
    ("Court imposes ₹50 lakh cost on platform", "₹5e+06"),
    ("Lender writes off 2.5 bln in bad loans", "2.5e+09"),
])
def test_amounts_as_agencies_and_other_countries_write_them(text: str, amount: str) -> None:
    assert headlines.amount_keys(text)[0] == {amount}


def test_a_count_in_words_is_the_count_in_figures() -> None:
    words = headlines.amount_keys("Hackers accessed six million customers' records")[0]
    figures = headlines.amount_keys("Records of up to 6 million customers exposed")[0]
    assert words == figures == {"6e+06"}
    assert headlines.amount_keys("Two billion euros for the grid")[0] == {"€2e+09"}
    assert headlines.amount_keys("One of the million reasons")[0] == set()


def test_a_fine_in_rupees_and_in_dollars_is_one_fine() -> None:
    rupees = signature("Competition body slaps Rs 1,337.76 crore penalty on search giant", "")
    dollars = signature("Search giant hit with $161 million antitrust penalty in India", "")
    assert stories._amounts(rupees, dollars) == (0, False)
    assert "#1.34e+10" in rupees.keys  # the index key is the value alone, as for other currencies


def test_a_fine_in_euros_and_in_dollars_of_another_year_is_no_contradiction() -> None:
    euros = signature("EU fines chipmaker a record 1.06 billion euros over rebates", "")
    dollars = signature("Chipmaker hit with record $1.45 billion EU fine", "")
    assert stories._amounts(euros, dollars) == (0, False)


def test_rounded_amounts_no_longer_contradict() -> None:
    a = signature("Apple fined €1.8bn by EU over music streaming", "")
    b = signature("Apple hit with €1.84 billion fine in Spotify antitrust case", "")
    assert stories._amounts(a, b) == (0, False)
    assert not stories._set_apart(a, b)
    assert stories._near_features(a, b, 0.0, 0.2, 0.5)[8] == 0.0  # amounts that contradict


@pytest.mark.parametrize(("title", "summary", "name"), [
    ("Microsoft to cut 10,000 jobs", "", "microsoft"),
    ("Meta to pay Texas $1.4 billion to settle facial recognition lawsuit", "", "meta"),
    ("Adobe, Figma abandon $20 billion deal", "", "adob"),
    ("Apple's App Store rules face EU probe", "", "appl"),
    ("Justice Department sues Apple, alleging it monopolized the smartphone market", "", "justic"),
    ("Intel is laying off more than 15,000 people",
     "Intel said on Thursday it would cut its workforce.", "intel"),
])
def test_a_company_that_begins_the_title_is_a_name(title: str, summary: str, name: str) -> None:
    sig = signature(title, summary)
    assert name in sig.names
    assert any(name in run for run, _ in sig.runs)


@pytest.mark.parametrize("title", ["Regulatory scrutiny sinks Adobe's acquisition",
                                   "Hundreds arrested in global crime sting",
                                   "States take Meta to court over design features"])
def test_a_common_first_word_is_not_a_name(title: str) -> None:
    first = headlines.stem_word(title.split()[0].lower())
    assert first not in signature(title, "").names


def test_two_companies_that_begin_their_titles_are_two_parties() -> None:
    # Each a company's own settlement with the same state, a day apart, of nearly one amount.
    meta = signature("Meta to pay Texas $1.4 billion to settle facial recognition lawsuit", "")
    google = signature("Google to pay Texas $1.375 billion to settle privacy lawsuits", "")
    assert stories._names_differ(meta, google)
    assert not stories.same_story(meta, google, hours_apart=19)


@pytest.mark.parametrize(("a", "b", "alias"), [
    ("Justice Department sues Apple, alleging it illegally monopolized the smartphone market",
     "Apple says it will 'vigorously defend' itself against DOJ antitrust lawsuit", "doj"),
    ("SCOTUS says states can make adults show ID to watch porn online",
     "Supreme Court rules Texas can require porn sites to check users' ages", "scotus"),
    ("Brussels hits Apple and Meta with first Digital Markets Act fines",
     "EU slaps €500M fine on Apple over App Store anti-steering", "eu"),
])
def test_a_body_by_any_of_its_names(a: str, b: str, alias: str) -> None:
    first, second = signature(a, ""), signature(b, "")
    assert alias in first.terms and alias in second.terms
    assert alias in first.names and alias in second.names


def test_scotus_is_the_supreme_court() -> None:
    assert "level:supreme" in headlines.courts_named("SCOTUS upholds Texas age-check law", "")


def test_a_share_and_a_sum_neither_agree_nor_contradict() -> None:
    stake = signature("US government to take 10% stake in Intel", "")
    cost = signature("The US government is now Intel's biggest shareholder",
                     "The $8.9 billion investment makes Washington the chipmaker's top owner.")
    assert stories._amounts(stake, cost) == (0, False)
    assert stories._amounts(stake, signature("Intel sells 20% of its unit", "")) == (0, True)


def test_a_settlement_and_a_penalty_of_one_sum_are_one_payment() -> None:
    settle = signature("Amazon to pay $25 million to settle FTC allegations Alexa violated "
                       "children's privacy", "")
    fine = signature("Amazon agrees to $25M penalty over Alexa kids' data", "")
    assert settle.events == {"settle"} and fine.events == {"fine"}
    assert not stories._set_apart(settle, fine)
    assert stories.same_story(settle, fine, hours_apart=1)
    # Another sum: two payments.
    other = signature("Amazon agrees to $30M penalty over Alexa kids' data", "")
    assert stories._set_apart(settle, other)


def test_a_deal_blocked_and_the_deal_closed_stay_two_stories_though_the_sum_agrees() -> None:
    blocked = signature("UK competition watchdog blocks Microsoft's $69bn takeover of Activision", "")
    closed = signature("Microsoft closes $69 billion Activision deal after UK approval", "")
    assert not stories.same_story(blocked, closed, hours_apart=20)


def test_a_judgment_and_the_order_enforcing_it_stay_two_stories() -> None:
    judgment = signature("Country must pay $8.7 billion over pipeline seizure, US judge rules",
                         "A federal judge ordered the country to pay about $8.7 billion to former "
                         "shareholders of the pipeline company.")
    order = signature("Country ordered to hand over its pipeline stake to satisfy $8.7 billion "
                      "judgment", "The judge ordered the transfer of the country's stake in the "
                      "pipeline company to the investors who won the judgment.")
    assert stories._set_apart(judgment, order)
    assert not stories.same_story(judgment, order, hours_apart=12)


def test_an_order_to_pay_and_the_fine_of_that_sum_are_one_payment() -> None:
    order = signature("Regulator orders Delta to pay $12 million over refund delays", "")
    fine = signature("Delta fined $12M for refund delays", "")
    assert order.events == {"order"} and fine.events == {"fine"}
    assert not stories._set_apart(order, fine)
    # A senator's probe and a regulator's order to several companies are two steps.
    probe = signature("US senator launches probe into chatbot maker over teen safety", "")
    ordered = signature("FTC orders Replika and others to hand over teen safety data", "")
    assert stories._set_apart(probe, ordered)


def test_two_states_laws_halted_by_judges_stay_two_stories() -> None:
    first = signature("Governor-backed social media law for teens halted by federal judge in Austin",
                      "")
    other = signature("Federal judge blocks Ohio law requiring age checks for social media", "")
    assert first.events == other.events == {"rule"}
    assert not stories.same_story(first, other, hours_apart=5)


@pytest.mark.parametrize(("title", "not_a_name"), [
    ("Update about the October 4th outage", "octob"),
    ("TikTok faces Sunday shutdown after court ruling", "sunday"),
    ("ANOM: Hundreds arrested in massive global crime sting", "hundr"),
    ("Goodbye, blue bird: Twitter is now X", "goodby"),
])
def test_dates_and_sentence_starts_are_no_names(title: str, not_a_name: str) -> None:
    assert not any(not_a_name in run for run, _ in signature(title, "").runs)


def test_a_double_barrelled_name_reads_as_its_initials() -> None:
    assert "sbf" in headlines.initials("Sam Bankman-Fried convicted of fraud")
    assert "sbf" in signature("Sam Bankman-Fried convicted of fraud", "").terms
    # Not any two capitalised words with a hyphen: "Its High-Profile" is no one.
    assert headlines.initials("The board pushes out Altman, Its High-Profile chief") == []


def test_the_word_cache_stays_bounded_and_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """One cache holds the words' readings, at most WORDS_KEPT of them: past that the oldest go,
    and a word read again after it went reads as before (a long `curator run` sees words without
    end: four unbounded-looking caches of 200,000 each once grew every process)."""
    texts = [(f"Zorvex{n} sues Kelora{n} over the Ferrantine-{n} merger in Brussels",
              f"The Federal Trade Commission said Zorvex{n}'s bid for Kelora{n} was {n} times "
              "bigger than A.I. rivals'.") for n in range(300)]
    before = [signature(t, x) for t, x in texts]
    monkeypatch.setattr(headlines, "_kept", {})
    monkeypatch.setattr(headlines, "WORDS_KEPT", 64)
    sizes = []
    after = []
    for t, x in texts:
        after.append(signature(t, x))
        sizes.append(headlines.cache_counts())
    assert max(sizes) <= 64
    assert after == before
    # Read again once their readings were dropped: the same.
    assert [signature(t, x) for t, x in texts[:5]] == before[:5]
    title = "Zorvex7's Ferrantine-7 deal, Brussels says"
    assert headlines.title_text(title) == " ".join(
        headlines.stem_word(w.lower()) for w in headlines.WORD.findall(title)
        if headlines.rarity(w.lower()) > 0) == "zorvex7 ferrantine-7 deal brussel"


@pytest.mark.parametrize(("name", "other"), [
    ("facebook", "meta"), ("meta", "instagram"), ("googl", "alphabet"), ("youtub", "alphabet"),
    ("tiktok", "byted"), ("chatgpt", "openai"), ("french", "franc"), ("dutch", "netherland"),
])
def test_one_party_by_its_other_names(name: str, other: str) -> None:
    assert other in headlines.same_party(name)
    assert name in headlines.same_party(other)


def test_two_brands_of_one_owner_are_not_one_party() -> None:
    assert "whatsapp" not in headlines.same_party("instagram")
    assert "youtub" not in headlines.same_party("waymo")
    assert headlines.same_party("snap") == frozenset()


def test_a_company_by_its_former_or_parent_name_is_one_party() -> None:
    # The same order reported with the company's new name and with its old one.
    new = signature("EU orders Meta to sell Kustomer", "")
    old = signature("EU orders Facebook owner to divest Kustomer", "")
    assert new.events == old.events == {"order"}
    assert not stories._names_differ(new, old)
    assert not stories._set_apart(new, old)
    # A fine by a country's watchdog and the same fine "in" that country.
    french = signature("Apple fined by French antitrust watchdog over ad tool", "")
    france = signature("Apple hit with fine in France over ad tracking prompt", "")
    assert not stories._names_differ(french, france)


def test_two_brands_or_a_rival_in_the_lede_stay_two_parties() -> None:
    # Two services of one owner fined apart are two fines.
    instagram = signature("Irish regulator fines Instagram over children's data", "")
    whatsapp = signature("Irish regulator fines WhatsApp over transparency", "")
    assert stories._set_apart(instagram, whatsapp)
    # A lede that names a brand as a rival does not make the article about its owner.
    meta = signature("Judge rules Meta holds no monopoly in social networking",
                     "The court cited competition from TikTok and YouTube.")
    google = signature("Google's ad tech is an illegal monopoly, judge rules", "")
    assert not stories._mentions(meta, "googl")
    assert stories._names_differ(meta, google)


def test_an_arrest_and_the_charges_are_one_event() -> None:
    arrested = signature("Police arrest 120 in global sting on encrypted phone network", "")
    charged = signature("Operation Lantern: 120 charged in the country's biggest crime sting", "")
    assert arrested.events == {"arrest"} and charged.events == {"charge"}
    assert not stories._set_apart(arrested, charged)
    # The sentence is the next step.
    sentenced = signature("Ringleader of encrypted phone sting sentenced to 12 years", "")
    assert stories._set_apart(arrested, sentenced)


def test_the_stemmer_keeps_no_words_of_its_own() -> None:
    """The words' readings cache (WORDS_KEPT) is the one bound: the C stemmer's own cache of
    10,000 words (about 2 MB in each process that signs) is off, and stems are the same."""
    import tracemalloc

    words = [f"quorvillating{n}s" for n in range(3000)]
    stemmer = headlines._stemmer()
    expected = [headlines.stem_word(w) for w in words[:50]]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        stems = [headlines.stem_word(w) for w in words]
        del stems
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 50_000, kept  # with the cache: 0.8 MB for these 3,000 words
    assert getattr(stemmer, "maxCacheSize", 0) == 0
    assert [headlines.stem_word(w) for w in words[:50]] == expected
    assert headlines.stem_word("regulators") == "regul"
