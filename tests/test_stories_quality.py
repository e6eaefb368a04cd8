"""Grouping quality on labeled articles: pairwise precision and recall of curator.stories.

tuning.yaml was used to choose the weights and the threshold; each held-out set was written after
the judgement was frozen and measured once; held_out_beat and held_out_2 then led to the next
change each, after which a new held-out set was written (README "Stories" tells the history).
The targets are precision >= 0.9 and recall >= 0.7: precision matters more than recall. Every set
reaches them but those in MISSED, written by people who had not read the grouping, which missed
them when first measured (held_out_4, held_out_5 and held_out_7 missed them too, and meet them
now; held_out_6 met them for a while, in the code though not left out of the fit).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.append(str(Path(__file__).resolve().parent.parent / "bench"))
from stories_quality import measure  # noqa: E402

DATA = Path(__file__).parent / "data" / "stories"


def load(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = yaml.safe_load((DATA / name).read_text())["items"]
    return items


def pairwise(items: list[dict[str, Any]]) -> tuple[float, float]:
    """Pairwise precision and recall of the grouping against the labels (bench/stories_quality.py
    counts them, and lists the mistakes when developing)."""
    tp, fp, fn, _ = measure(items)
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


SETS = ["tuning.yaml", "held_out.yaml", "held_out_beat.yaml", "held_out_2.yaml", "held_out_3.yaml"]

# Sets that miss the targets, with the figures they are held to (precision, recall).
# held_out_4.yaml, when first measured: precision 0.698, recall 0.389 (tp 37, fp 16, fn 58 of 8,385
# pairs). Every wrongly joined pair was a trap with the story it resembles (the EU's DMA fines and
# the opening of its DMA probes; SVB's failure and Signature Bank's closure; a lawsuit and the
# later ruling on it; a verdict and the sentencing). It was then used to develop the event and
# name signals of curator.stories (what the titles say happened; who they name), which took it to
# precision 1.000, recall 0.495 (tp 47, fp 0, fn 48), the other sets holding or gaining. The misses
# left are stories told from different angles in other words ("Zuckerberg takes the stand" /
# "Meta faces FTC in landmark antitrust trial"). The set is held to these figures (a change that
# makes it worse fails) and the targets are an expected failure, to revisit when they are met.
# held_out_5.yaml, written last (from 2021-2025 coverage, half one editor's beat, half general tech
# and business) by someone who had not read the grouping, measured once on main 7c6e0f5: precision
# 0.837, recall 0.554 (tp 41, fp 8, fn 33 of 4,851 pairs). Every wrongly joined pair is a trap with
# the story it resembles (the CMA blocking Microsoft's Activision deal and the deal closing; Meta's
# EUR 390M forced-consent fine and its EUR 1.2bn data-transfer fine; FOSTA upheld on appeal and an
# appeals court denying TikTok Section 230; Google moving Location History on-device and geofence
# warrants ruled unconstitutional); without the traps precision is 1.000. The misses are outlets'
# different angles on one event ("Sam Altman fired as CEO of OpenAI" / "Greg Brockman quits OpenAI
# hours after board pushes out Altman"; "Alphabet shares slip after judge finds Google broke
# antitrust law"). Not tuned against; held to these figures like held_out_4.
# Then a third signal, what the title and lede mean (sentence embeddings, curator/meaning.py),
# counted only when nothing sets the two apart, with the court that acted (a judge, an appeals
# court, which circuit): developed on tuning.yaml and held_out_4.yaml (held_out_4 0.589 recall,
# tp 56, fp 0, fn 39), then held_out_5 measured once: precision 0.810, recall 0.689 (two new
# wrong pairs: "Sam Altman to return as OpenAI CEO" with his firing); "returns as" then read as
# a hiring: 0.836 / 0.689. The meaning is then looked at only for near misses (the words give
# a story 0.2 to the threshold; an embedding costs twenty times the rest of a signature): the
# development sets keep their figures; held_out_5 0.860 / 0.662 (tp 49, fp 8, fn 25).
# Then two more kinds of event, a deal completing (or a buyer taking control) and a regulator
# blocking one, and the meaning's weight 0.8 -> 0.9 (on held_out_4): held_out_4 1.000 / 0.642
# (tp 61, fp 0, fn 34); held_out_5 0.907 / 0.662 (tp 49, fp 5, fn 25). The rare word shared must
# then be in the titles (a tenth of the embeddings on the word salad bench): held_out_4 0.632
# (tp 60, fp 0, fn 35).
# held_out_6.yaml and held_out_7.yaml, written blind after that last change (from memory of
# 2021-2025 coverage, by people who had read neither the grouping nor any other set; 6 half the
# beat, 7 mostly the beat) and measured once on main 3ed36c3: held_out_6 precision 0.971, recall
# 0.523 (tp 34, fp 1, fn 31); held_out_7 precision 0.974, recall 0.529 (tp 37, fp 1, fn 33).
# Precision meets the target; recall misses it. The two wrong pairs are traps with the story they
# resemble (the SEC's hacked X account announcing bitcoin ETFs, and their approval; the Supreme
# Court's argument on Florida's and Texas's social-media laws, and its ruling). The misses are one
# event told in other words ("Justice Department sues Apple, alleging it illegally monopolized the
# smartphone market" / "The US government is suing Apple over its iPhone 'monopoly'"; "Microsoft
# to cut 10,000 jobs" / "Microsoft announces layoffs affecting 5 percent of its workforce").
# Not tuned against; held to these figures.
# Then every set became a development set, and the judgement learnt more ways to say one event
# (job cuts are layoffs; "guilty on all counts" a verdict, "pleads guilty" a plea; "becomes law"
# and "royal assent" a signature; "green light" an approval; "abandon", "call off", "sinks" a deal
# abandoned; "retires", "steps down", "pushed out" a departure), amounts with their currency
# ("$1.3bn" and "€1.2bn" roughly one fine; "$1.4bn" the rounding of "$1.375bn"), bodies by their
# other names (DOJ, SCOTUS, Brussels for the EU) and a company that begins a title as a name:
# held_out_4 1.000 / 0.621 (tp 59, fp 0, fn 36: one pair lost to the DOJ's name in one summary),
# held_out_5 0.962 / 0.689 (tp 51, fp 2, fn 23), held_out_6 0.973 / 0.554 (tp 36, fp 1, fn 29),
# held_out_7 0.976 / 0.571 (tp 40, fp 1, fn 30); tuning 0.946 recall.
# Then a court that sidesteps, punts, declines or keeps a law on hold has ruled; a capitalised word
# inside a sentence-case title is a name, not a verb; a plan or bid dropped or killed is
# abandoned; a hack (or data breach) is its own kind of event; a share and a sum neither agree
# nor contradict; a settlement and a penalty of one sum are one payment; dates and a sentence's
# first word after a colon are nobody's name: held_out_6 1.000 / 0.600 (tp 39, fp 0, fn 26),
# held_out_7 1.000 / 0.586 (tp 41, fp 0, fn 29); the others as above.
# held_out_8.yaml and held_out_9.yaml, written blind on 2026-12-01 while those changes were made
# (by people who had read neither the grouping nor any other set, told only which events earlier
# sets use so as to choose others; 8 half the beat, 9 a third of it and news from outside the US),
# measured on main before the changes (06a5bf2: held_out_8 0.946 / 0.486, tp 35, fp 2, fn 37;
# held_out_9 0.971 / 0.485, tp 33, fp 1, fn 35) and once after them (60cce78): held_out_8 0.971 /
# 0.472 (tp 34, fp 1, fn 38), held_out_9 0.946 / 0.515 (tp 35, fp 2, fn 33). The rules learnt on
# the development sets did not carry over to unseen news: recall stays about 0.5. Not tuned
# against; held to these figures.
# Then the sentence encoder became WordLlama's static embedding (a twentieth of the cost per
# text), and the near misses (the words give a story 0.05 to the threshold, nothing sets the two
# apart, the titles share a rare word, and the meanings' mean cosine is 0.35 or more) are
# decided by a logistic rule over the pair's signals, fitted on every set by
# bench/stories_learn.py (which measures each set left out of the fit: every pair of every set
# 0.984 / 0.700; held_out_4 0.984 / 0.653, held_out_5 0.946 / 0.716, held_out_6 1.000 / 0.600,
# held_out_7 1.000 / 0.686, held_out_8 0.970 / 0.444, held_out_9 0.946 / 0.515). In the code,
# fitted on every set: held_out_5 0.946 / 0.716 (tp 53, fp 3, fn 21) now meets the targets;
# held_out_4 0.983 / 0.621 (tp 59, fp 1, fn 36), held_out_6 1.000 / 0.631 (tp 41, fp 0, fn 24),
# held_out_7 1.000 / 0.686 (tp 48, fp 0, fn 22), held_out_8 0.971 / 0.472 (tp 34, fp 1, fn 38),
# held_out_9 0.949 / 0.544 (tp 37, fp 2, fn 31).
# Then what vetoed a near miss outright became features of the near-miss rule, weighed with the
# rest (a rare word shared by the titles; amounts that contradict; another court), while two
# vetoes stay (the titles say different things happened; the same thing happened to another
# party), and the meanings' mean cosine must reach 0.4 (was 0.35). Left out set by set
# (bench/stories_learn.py): every pair of every set 0.984 / 0.700 -> 0.976 / 0.725. In the code:
# held_out_4 1.000 / 0.716 (tp 68, fp 0, fn 27) now meets the targets; held_out_2 0.929 / 0.963,
# held_out_5 0.914 / 0.716 (tp 53, fp 5, fn 21), held_out_6 1.000 / 0.646 (tp 42, fp 0, fn 23),
# held_out_7 1.000 / 0.657 (tp 46, fp 0, fn 24: two pairs fewer), held_out_8 0.974 / 0.528
# (tp 38, fp 1, fn 34), held_out_9 0.949 / 0.544 (tp 37, fp 2, fn 31).
# Then each article is indexed under its title's five rarest words (of some weight) besides its
# rarest words overall: 68 of 607 same-story pairs shared no index key and were never compared, though
# some shared the title's words ("Google illegally monopolized online ad tech, US judge rules" /
# "Google is an ad tech monopolist, judge says"). The near-miss rule refitted on the pairs now
# compared. Left out set by set: every pair of every set 0.976 / 0.725 -> 0.978 / 0.748. In the
# code: held_out_6 1.000 / 0.708 (tp 46, fp 0, fn 19) and held_out_7 1.000 / 0.714 (tp 50, fp 0,
# fn 20) now meet the targets; held_out_8 0.975 / 0.542, held_out_9 0.953 / 0.603.
# Then a trial won, lost or beaten in is its verdict, and "jobs are being cut" a layoff (two of
# held_out_8's misses): held_out_8 0.977 / 0.597 (tp 43, fp 1, fn 29); left out, every pair of
# every set 0.978 / 0.748 -> 0.979 / 0.755.
SETS += ["held_out_5.yaml", "held_out_4.yaml", "held_out_7.yaml"]
# held_out_16.yaml (2009-2016, worldwide) and held_out_17.yaml (2022-2025, much of it outside the US
# and the EU), written blind on 2026-12-02 while those title keys and readings were made, measured on
# main before them (911b224: held_out_16 0.935 / 0.397, tp 29, fp 2, fn 44; held_out_17 0.974 / 0.500,
# tp 37, fp 1, fn 37) and once after (9374176): held_out_16 0.903 / 0.384 (tp 28, fp 3, fn 45: one more
# wrongly joined pair, one pair fewer found), held_out_17 0.974 / 0.500, unchanged. The
# three points of left-out recall that the development sets gained did not reach unseen news.
# Then the near-miss rule was refitted with held_out_16 and held_out_17 among its sets, and its days
# apart count only beyond the first NEAR_HOURS_FREE (8) hours: most of those two sets' near misses
# the rule turned down were outlets' copies of one story half a day apart. Left out set by set
# (bench/stories_learn.py): every pair of every set 0.972 / 0.695 -> 0.978 / 0.710, held_out_16
# 0.912 / 0.425 -> 0.946 / 0.479, held_out_17 0.974 / 0.500 -> 1.000 / 0.581, held_out_7 0.714 ->
# 0.743, held_out_3 1.000 -> 0.960 recall (one pair), the others unchanged. In the code: held_out_16
# 0.909 / 0.411 (tp 30, fp 3, fn 43), held_out_17 1.000 / 0.581 (tp 43, fp 0, fn 31), held_out_7
# 1.000 / 0.743. Two sets lose two pairs each in the code, with the refit, not the hinge (refitting
# the old flat days apart on every set loses the same four pairs; each pair is two hours apart):
# held_out_6 1.000 / 0.708 -> 0.677 (tp 44, fp 0, fn 21; its left-out figure was 0.677 before and
# after), so it is held to its figures again rather than to the targets; held_out_8 0.977 / 0.597
# -> 0.976 / 0.569 (tp 41, fp 1, fn 31; left out 0.569 before and after).
# held_out_18.yaml (2017-2021, US, UK, EU, Israel, South Korea, Singapore, Nigeria, South Africa)
# and held_out_19.yaml (2023-2025, mostly US and EU tech accountability), written blind on
# 2026-12-02 while the free hours were made, measured on main before them (76480a6: held_out_18
# 0.939 / 0.425, tp 31, fp 2, fn 42; held_out_19 0.730 / 0.365, tp 27, fp 10, fn 47; the day's
# starting code 911b224 gave the same on held_out_18 and 0.743 / 0.351 on held_out_19) and once
# after (c65a0f5): held_out_18 0.938 / 0.411 (tp 30, fp 2, fn 43), held_out_19 0.721 / 0.419
# (tp 31, fp 12, fn 43). Unseen news again: recall 0.4, and held_out_19's traps are the first to
# take precision under 0.75.
# Then a court that halts, pauses, blocks or enjoins has ruled, enforcing a judgment (satisfying it,
# seizing or garnishing to pay it) is its own kind of event, "takes ... to court" a lawsuit and "is
# now law" a signature: held_out_19 0.721 -> 0.756 / 0.419 (tp 31, fp 12 -> 10, fn 43: a judgment
# and the order enforcing it; two states' laws halted by judges), held_out_16 0.909 -> 0.938 / 0.411
# (tp 30, fp 3 -> 2, fn 43: an arrest and a judge ordering WhatsApp blocked); the others unchanged.
# Left out set by set (bench/stories_learn.py, every pair of every set, tp / fp / fn): 519 / 21 /
# 382 -> 520 / 19 / 381.
# Then a law or ban blocked, halted or put on hold reads as a ruling though no court is named, a
# court that "clears" something has ruled (no vote), and an appeal won or lost is the ruling on it:
# held_out_19 0.756 -> 0.775 / 0.419 (tp 31, fp 10 -> 9, fn 43: another state's law blocked, with
# "Florida's ... ban is on hold"), held_out_5 0.914 / 0.716 -> 0.917 / 0.743 (tp 53 -> 55), the
# others unchanged. Left out set by set: 520 / 19 / 381 -> 529 / 18 / 372.
# Then a regulator or a government ordering someone ("FTC orders Meta, OpenAI... to hand over")
# is its own kind of event (a court's order stays a ruling; an order to pay and a fine of the same
# sum are one payment): held_out_19 0.775 -> 0.816 / 0.419 (tp 31, fp 9 -> 7, fn 43: the FTC's
# orders to chatbot makers with a senator's probe of one of them), the others unchanged. Left out
# set by set: 529 / 18 / 372 -> 529 / 16 / 372.
# held_out_20.yaml (2019-2022, US, UK, EU, India, Australia) and held_out_21.yaml (2023-2025, US,
# Canada, Brazil, South Korea, Germany, France), written blind while those readings were made and
# measured on the code before them (1fff70f) and once after (a752162): held_out_20 1.000 / 0.375
# (tp 27, fp 0, fn 45) -> 1.000 / 0.361 (tp 26, fp 0, fn 46: "CMA orders Meta to sell Giphy" and
# "UK watchdog orders Facebook owner to sell Giphy in landmark ruling" both read as an order now,
# and each names a company the other does not, Meta / Facebook: the same thing done to another
# party, set apart); held_out_21 0.958 / 0.365 (tp 23, fp 1, fn 40) both times (its wrong pair: Canada
# dropping its digital services tax and Trump ending trade talks over it 8 hours before). The
# readings do not carry over to unseen news; recall there is still under 0.4.
# Then a party counts as one under its other names, from a maintained table (a company and its
# former or parent's name, Facebook and Meta, Google and Alphabet; a brand and its owner, ChatGPT
# and OpenAI; a country and its adjective, France and French), in the titles only: held_out_20
# 0.361 -> 0.375 (tp 27, fp 0, fn 45: the Giphy pair), held_out_21 0.958 / 0.365 -> 0.962 / 0.397
# (tp 25, fp 1, fn 38: Apple's fine by the "French" watchdog and "in France"), held_out_4 0.705 ->
# 0.716, held_out_5 0.917 / 0.743 -> 0.921 / 0.784 (Google and Alphabet), the others unchanged.
# Left out set by set (bench/stories_learn.py, every pair of every set, tp / fp / fn): 576 / 19 /
# 460 -> 583 / 17 / 453.
# Then amounts as agencies and other countries write them ("310 mln euros", "EUR310m", "Rs 1,337
# crore", "₹50 lakh") and two currencies roughly one sum at any exchange rate since 2000 (the 2009
# euro at 1.37 dollars; the rupee), not only within a third: held_out_16 0.938 / 0.411 -> 0.941 /
# 0.438 (tp 32, fp 2, fn 41: the EU's Intel fine in euros and in dollars), held_out_17 0.581 ->
# 0.595 (tp 44, fp 0, fn 30), held_out_19 0.816 / 0.419 -> 0.829 / 0.459 (tp 34, fp 7, fn 40:
# LinkedIn's "310 mln euros" and "EUR310m" fine), the others unchanged. Left out set by set: 583 /
# 17 / 453 -> 585 / 17 / 451 (held_out_16 +2, held_out_17 +1, held_out_19 +3 pairs; held_out_4
# 0.547 -> 0.505 recall, 4 pairs, its fit's intercept moved by the other sets' new near misses).
# Then an arrest and the charges are one event, not a case's next step: held_out_7 0.743 -> 0.786
# (tp 55, fp 0, fn 15: a sting's arrests and its charges), held_out_8 0.976 / 0.569 -> 0.977 /
# 0.583 (tp 42, fp 1, fn 30), the others unchanged. Left out set by set: 585 / 17 / 451 -> 586 /
# 17 / 450 (held_out_8 +1).
# held_out_22.yaml (2020-2021, US, EU, UK, China, Ireland, Myanmar) and held_out_23.yaml (2024-2025,
# US, EU, UK, Asia), written blind while the party table, amounts and arrest readings above were
# made, measured on the code before them (ac2e093) and once after (5e53cd7): held_out_22 0.976 /
# 0.586 (tp 41, fp 1, fn 29; its wrong pair: Google forcing out Timnit Gebru and firing Margaret
# Mitchell, two researchers of one team) and held_out_23 1.000 / 0.418 (tp 28, fp 0, fn 39) both
# times: those readings did nothing for unseen news either.
# Then what a summary's first sentence says happened (its title saying nothing) is not set against
# a title with no summary: the two are judged title to title ("Google will delete data collected
# from 'Incognito' mode users", whose lede reads as a block, beside "Google to Delete Records From
# Incognito Tracking"): held_out_17 0.595 -> 0.622 (tp 46, fp 0, fn 28), held_out_8 0.977 / 0.583
# -> 0.978 / 0.611 (tp 44, fp 1, fn 28), the others unchanged. Left out set by set
# (bench/stories_learn.py, all 19 sets, tp / fp / fn): 662 / 19 / 511 -> 666 / 19 / 507.
# Then two titles that write the same figure and share a name and another telling word, neither
# naming a party the other never mentions nor saying something else happened, count for one story
# (stories.TIE): held_out_21 0.962 / 0.397 -> 0.964 / 0.429 (tp 27, fp 1, fn 36: "179 killed as
# Jeju Air passenger plane crashes" with the investigators' "Jeju Air crash killing 179"),
# held_out_23 0.418 both ways (the two Discord titles of "70,000 users" now joined, the third
# article of the story, which only one of them joined before, left out), the others unchanged.
# Left out set by set: 666 / 19 / 507 -> 674 / 20 / 499 (held_out_9 0.971 / 0.500 -> 0.951 /
# 0.574: five pairs more and one wrong, by the refit's intercept; held_out_6 and 21 up).
# Then an article tied so to one of a story's articles, with a score at the threshold against it,
# joins the story though the mean over its articles is under (another article told an aside:
# "Musk dances on stage ... after Tesla investors back trillion-dollar pay plan"): held_out_23
# 0.418 -> 0.448 (tp 30, fp 0, fn 37: the Tesla pay vote), held_out_9 0.953 / 0.603 -> 0.957 /
# 0.647 (tp 44, fp 2, fn 24: the Section 230 ruling on TikTok), the others unchanged. Left out set
# by set: 674 / 20 / 499 -> 679 / 20 / 494.
# held_out_24.yaml (2017-2019, US, EU, UK) and held_out_25.yaml (2022-2023, US, UK, EU,
# Australia), written blind after those changes, measured on the code before the day's readings
# (ac2e093), after the first ones (5fcf6e8) and after the last (606276a): held_out_24 0.927 /
# 0.576 (tp 38, fp 3, fn 28) -> 0.913 / 0.636 (42 / 4 / 24) -> 0.918 / 0.682 (45 / 4 / 21; its
# wrong pairs: the DOJ's review of Big Tech with the FTC's probe of Facebook the same day, and
# Apple blocking Google's internal apps with Apple halting Siri's listening contractors);
# held_out_25 0.962 / 0.403 (tp 25, fp 1, fn 37) all three times. The readings carried over to
# one unseen set in two.
MISSED = {"held_out_6.yaml": (1.000, 0.677), "held_out_8.yaml": (0.978, 0.611),
          "held_out_9.yaml": (0.957, 0.647),
          "held_out_16.yaml": (0.941, 0.438), "held_out_17.yaml": (1.000, 0.622),
          "held_out_18.yaml": (0.938, 0.411), "held_out_19.yaml": (0.829, 0.459),
          "held_out_20.yaml": (1.000, 0.375), "held_out_21.yaml": (0.964, 0.429),
          "held_out_22.yaml": (0.976, 0.586), "held_out_23.yaml": (1.000, 0.448),
          "held_out_24.yaml": (0.918, 0.682), "held_out_25.yaml": (0.962, 0.403)}


@pytest.mark.parametrize("name", [s for s in SETS + list(MISSED) if s != "held_out_beat.yaml"])
def test_labeled_sets_are_what_they_claim(name: str) -> None:
    items = load(name)
    sizes: dict[str, int] = {}
    for it in items:
        sizes[it["story"]] = sizes.get(it["story"], 0) + 1
    multi = [n for n in sizes.values() if n > 1]
    singles = [it for it in items if sizes[it["story"]] == 1]
    assert len(multi) >= 15 and all(2 <= n <= 4 for n in multi)
    assert len(singles) >= 20
    assert sum(1 for it in singles if it.get("trap")) >= len(singles) // 2
    # Different wording: no two articles of a story share a title.
    for story in sizes:
        titles = [it["title"] for it in items if it["story"] == story]
        assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("name", SETS + [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="missed when first measured"))
    for name in MISSED])
def test_pairwise_precision_and_recall(name: str) -> None:
    precision, recall = pairwise(load(name))
    print(f"{name}: precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.9
    assert recall >= 0.7


@pytest.mark.parametrize("name", list(MISSED))
def test_sets_that_missed_keep_their_figures(name: str) -> None:
    held_precision, held_recall = MISSED[name]
    precision, recall = pairwise(load(name))
    print(f"{name}: precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= held_precision - 0.0005
    assert recall >= held_recall - 0.0005
