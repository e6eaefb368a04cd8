"""Poll benchmark: curator against reader, same feeds, same server, same run.

    .venv/bin/python bench/poll_bench.py                 # 1,000 feeds x 30 items
    .venv/bin/python bench/poll_bench.py --feeds 10000   # the newsroom case
    .venv/bin/python bench/poll_bench.py --only curator  # skip reader
    .venv/bin/python bench/poll_bench.py --mix mixed     # a realistic mix (see --help); --mix worst

It generates N synthetic RSS 2.0 feeds (about 37 KB each, HTML descriptions, a few items that match
the topics) under bench/out/, serves them on 127.0.0.1 (nginx when it is installed, else a small
aiohttp server), and runs each poll as a whole separate process, timing the wall clock and sampling
the memory of the whole process tree (workers included):

  1. first poll      fresh database, every feed fetched, parsed, stored (and matched, for curator)
  2. all 304         the same feeds again; the server answers every conditional GET with 304
  3. 10% changed     a tenth of the feeds gained items; the server sends no ETag/Last-Modified and
                     ignores conditional requests, so every feed answers 200 with its whole body

Ratios are reader's time over curator's, measured in this run on this machine: the benchmark makes
no absolute timing claims and nothing here is a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
GENERATOR_VERSION = 3
CHANGED_SHARE = 0.10
NEW_ITEMS_PER_CHANGED_FEED = 3

# ---------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = {}
    for dist in ("feedparser", "reader", "aiohttp", "nh3", "sqlite-utils"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:  # noqa: BLE001 - not installed
            versions[dist] = "-"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "ram": ram,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "os": f"{platform.system()} {platform.release()}", **versions}


# ---------------------------------------------------------------- the feeds

_WORDS = """
the of and to in a is that for it as was with be by on not he this are or his from at which but
have an they you were her she there been one all we their has would when if so no what up out can
said more about who will other into could them time some these may then do first any my now such
like our over man me even most made after also did many before must through back years where much
your way well down should because each just those people how too little state good very make world
still own see men work long get here between both life being under never day same another know while
last might us great old year off come since against go came right used take three states himself few
house use during without again place american around however home small found mrs thought went say
part once general high upon school every public regulators platform lawmakers court ruling filing
policy company engineers investigators report documents researchers privacy moderation algorithm
feed ranking advertisers data brokers settlement complaint hearing senators agency commission users
teenagers parents lawsuit appeal judge testimony whistleblower audit transparency disclosure
""".split()  # noqa: SIM905 - a paragraph of words is easier to edit

_TOPIC_PHRASES = [
    "Section 230", "content moderation", "subpoenaed", "subpoenas", "child safety", "KOSA",
    "age verification", "antitrust", "monopoly", "data brokers", "surveillance",
]

BENCH_TOPICS = """
topics:
  - name: platform-accountability
    any: ["Section 230", "content moderation", "subpoena*"]
  - name: child-safety
    any: ["child safety", KOSA, "age verification"]
  - name: antitrust
    any: [antitrust, monopoly]
    none: [sponsored]
  - name: surveillance
    any: ["data broker*", surveillance]
"""


def _paragraph_pool(rng: random.Random, n: int = 400) -> list[str]:
    """Escaped-later HTML paragraphs; items draw from this pool so generation stays fast."""
    pool = []
    for i in range(n):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(27, 43))]
        words[0] = words[0].capitalize()
        k = rng.randrange(3, len(words) - 3)
        words[k] = f'<a href="https://docs.example.org/{i}/{words[k]}">{words[k]}</a>'
        words[k + 2] = f"<b>{words[k + 2]}</b>"
        text = " ".join(words)
        extra = ""
        if i % 7 == 0:
            extra = f' <img src="/img/{i}.png" alt="figure {i}">'
        if i % 50 == 0:  # hostile markup the sanitiser must remove
            extra += ' <script>alert(1)</script><span onclick="x()">click</span>'
        pool.append(f"<p>{text}.{extra}</p>")
    return pool


def _words(rng: random.Random, pool: list[str], feed: int, key: str, when: datetime,
           matched: bool, shared: int | None) -> tuple[str, str, str]:
    """An item's title, link and HTML body (the same random draws for every style)."""
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 10))]
    if matched:
        words.insert(rng.randrange(len(words)), rng.choice(_TOPIC_PHRASES))
    title = " ".join(words).capitalize()
    if shared is not None:
        # The same story carried by several feeds: one candidate with several sources.
        link = f"https://wire.example.net/story/{shared}?utm_source=feed{feed}"
    else:
        link = f"https://site{feed}.example.com/{when:%Y/%m}/{key}?utm_medium=rss"
    body = "".join(rng.choice(pool) for _ in range(3))
    if matched and rng.random() < 0.5:
        body += f"<p>The {rng.choice(_TOPIC_PHRASES)} angle, explained.</p>"
    return title, link, body


def _item(rng: random.Random, pool: list[str], feed: int, key: str, when: datetime,
          matched: bool, shared: int | None, words: tuple[str, str, str] | None = None) -> str:
    title, link, body = words or _words(rng, pool, feed, key, when, matched, shared)
    return (
        "<item>"
        f"<title>{escape(title, quote=False)}</title>"
        f"<link>{escape(link, quote=False)}</link>"
        f'<guid isPermaLink="false">site{feed}-{key}</guid>'
        f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
        f"<dc:creator>Reporter {rng.randint(1, 40)}</dc:creator>"
        f"<description>{escape(body, quote=False)}</description>"
        "</item>\n"
    )


# --mix: how each feed is written. "escaped" is every feed as above. "mixed" is what a feed list
# looks like: HTML escaped or in CDATA, WordPress-style content:encoded with its namespaces,
# the same with Media RSS images (as news sites write them), Atom with html content, feeds of a
# third to three times --items items. "worst" is the mixed feeds with a topic
# term in nine items out of ten. "news" is the mixed feeds with news articles instead of word
# salad (see below): what story grouping meets in the wild.
MIXES = ("escaped", "mixed", "worst", "news")
_STYLES = ("escaped", "wordpress", "atom", "media")
_STYLE_WEIGHTS = (0.25, 0.25, 0.15, 0.35)


def _item_mixed(rng: random.Random, pool: list[str], feed: int, key: str, when: datetime,
                matched: bool, shared: int | None, style: str,
                words: tuple[str, str, str] | None = None) -> str:
    """One item (or Atom entry) in the given style, with the same words as _item (or these)."""
    if style == "escaped":
        return _item(rng, pool, feed, key, when, matched, shared, words)
    title, link, body = words or _words(rng, pool, feed, key, when, matched, shared)
    lead = body.split("</p>", 1)[0] + " […]</p>"
    if style in ("wordpress", "media"):
        media = ""
        if style == "media":
            media = (f'<media:content url="https://cdn.example.com/{feed}/{key}.jpg" '
                     'medium="image" width="1200" height="675"/>'
                     f'<media:thumbnail url="https://cdn.example.com/{feed}/{key}-t.jpg"/>')
        return (
            "<item>"
            f"<title>{escape(title, quote=False)}</title>"
            f"<link>{escape(link, quote=False)}</link>"
            f"<dc:creator><![CDATA[Reporter {rng.randint(1, 40)}]]></dc:creator>"
            f"<pubDate>{format_datetime(when, usegmt=False)}</pubDate>"
            f"<category><![CDATA[News]]></category>"
            f'<guid isPermaLink="false">https://site{feed}.example.com/?p={key}</guid>'
            f"<description><![CDATA[{lead}]]></description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded>"
            f"<wfw:commentRss>{escape(link, quote=False)}/feed/</wfw:commentRss>"
            f"<slash:comments>{rng.randint(0, 9)}</slash:comments>{media}"
            "</item>\n"
        )
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        "<entry>"
        f'<title type="html">{escape(escape(title, quote=False), quote=False)}</title>'
        f'<link rel="alternate" type="text/html" href="{escape(link)}"/>'
        f"<id>tag:site{feed}.example.com,2026:{key}</id>"
        f"<published>{stamp}</published><updated>{stamp}</updated>"
        f"<author><name>Reporter {rng.randint(1, 40)}</name></author>"
        f'<summary type="html">{escape(lead, quote=False)}</summary>'
        f'<content type="html">{escape(body, quote=False)}</content>'
        "</entry>\n"
    )


def _feed_mixed(feed: int, items: list[str], when: datetime, style: str) -> bytes:
    if style == "escaped":
        return _feed(feed, items, when)
    if style == "atom":
        head = (
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
            f"<title>Synthetic Source {feed}</title>\n"
            f'<link rel="alternate" href="https://site{feed}.example.com/"/>\n'
            f'<link rel="self" href="https://site{feed}.example.com/atom.xml"/>\n'
            f"<id>https://site{feed}.example.com/</id>\n"
            f"<updated>{when:%Y-%m-%dT%H:%M:%SZ}</updated>\n"
        )
        return (head + "".join(items) + "</feed>\n").encode("utf-8")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
        ' xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
        ' xmlns:media="http://search.yahoo.com/mrss/">\n<channel>\n'
        f"<title>Synthetic Source {feed}</title>\n"
        f'<atom:link href="https://site{feed}.example.com/feed/" rel="self"'
        ' type="application/rss+xml" />\n'
        f"<link>https://site{feed}.example.com/</link>\n"
        f"<description>Feed number {feed} of the curator benchmark</description>\n"
        f"<lastBuildDate>{format_datetime(when, usegmt=True)}</lastBuildDate>\n"
        "<language>en-US</language>\n"
        "<sy:updatePeriod>hourly</sy:updatePeriod>\n<sy:updateFrequency>1</sy:updateFrequency>\n"
        "<generator>https://wordpress.org/?v=6.7</generator>\n"
    )
    return (head + "".join(items) + "</channel>\n</rss>\n").encode("utf-8")


def _feed_size(rng: random.Random, n_items: int) -> int:
    """Most feeds are short, a few are long: a third, as many, or three times n_items."""
    return rng.choices([max(n_items // 3, 1), n_items, n_items * 3], [0.3, 0.55, 0.15])[0]


def _feed(feed: int, items: list[str], when: datetime) -> bytes:
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>Synthetic Source {feed}</title>\n"
        f"<link>https://site{feed}.example.com/</link>\n"
        f"<description>Feed number {feed} of the curator benchmark</description>\n"
        f"<lastBuildDate>{format_datetime(when, usegmt=True)}</lastBuildDate>\n"
    )
    return (head + "".join(items) + "</channel>\n</rss>\n").encode("utf-8")


# ---------------------------------------------------------------- --mix news: stories, not salad

# --mix news writes articles as news outlets do: most report an event no other feed carries, and
# some events are carried by 2 to 10 outlets, each with its own title and lede (templates filled
# with the event's companies, people, regulators, places and amounts; a different template per
# outlet). A few per cent concern the topics. The articles' bodies continue with the paragraph
# pool, as the other mixes do.
_COMPANIES = """Amazon Meta Google Apple Microsoft TikTok Snap Uber Lyft Airbnb Netflix Spotify
Nvidia Intel AMD Qualcomm Samsung Sony Tesla Rivian Ford Boeing Airbus Pfizer Moderna Bayer
Siemens Shell BP Unilever Nestle Visa Mastercard PayPal Stripe Klarna Revolut Shopify Zoom Oracle
Salesforce IBM Cisco Dell Intuit Adobe OpenAI Anthropic Palantir Roblox Discord Reddit Pinterest
Telegram WhatsApp Instagram YouTube Binance Coinbase Robinhood Vodafone Ericsson Nokia Alibaba
Tencent Baidu ByteDance Xiaomi Huawei Sega Nintendo Ubisoft Valve Epic Grindr Tinder Bumble
DoorDash Instacart Deliveroo Zalando Ocado Tesco Walmart Target Costco Disney Paramount Warner
Comcast Verizon AT&T T-Mobile Orange Telefonica Lufthansa Ryanair easyJet Maersk FedEx UPS""".split()  # noqa: SIM905
_FIRST = """Maria James Aisha Chen Lars Sofia Omar Priya Daniel Elena Kwame Yuki Hannah Mateo Fatima
Olivier Ingrid Ravi Grace Tomasz Leila Pedro Anna Hiroshi Nadia Samuel Chloe Viktor Amara Jonas""".split()  # noqa: SIM905
_LAST = """Okafor Lindqvist Moreau Nakamura Haddad Kowalski Fernandes Schmidt Adeyemi Rossi Brennan
Castillo Novak Yilmaz Petrov Andersen Dubois Mehta Oyelaran Gallagher Varga Sato Hussain Lindgren
Caruso Eriksen Mwangi Torres Keller Banerjee""".split()  # noqa: SIM905
_PLACES = """Seattle Austin Denver Boston Chicago Atlanta Dublin London Manchester Leeds Paris Lyon
Berlin Munich Hamburg Madrid Barcelona Lisbon Milan Rome Warsaw Prague Vienna Stockholm Oslo
Helsinki Copenhagen Amsterdam Brussels Zurich Toronto Vancouver Montreal Sydney Melbourne Auckland
Singapore Seoul Tokyo Osaka Mumbai Bangalore Nairobi Lagos Johannesburg Cairo Dubai Istanbul
Mexico City Bogota Lima Santiago Sao Paulo""".replace("Mexico City", "Mexico_City").replace(
    "Sao Paulo", "Sao_Paulo").split()
_REGULATORS = ["the FTC", "the SEC", "the Justice Department", "the European Commission",
               "the CMA", "Ofcom", "the CNIL", "Ireland's Data Protection Commission",
               "the Bundeskartellamt", "Japan's Fair Trade Commission", "the ACCC", "the FCC",
               "the CFPB", "Texas attorney general", "New York attorney general",
               "California's privacy agency", "Brazil's CADE", "India's CCI"]
_ISSUES = ["hidden fees", "misleading ads", "driver pay", "warehouse safety", "price fixing",
           "fake reviews", "subscription traps", "delivery delays", "battery fires",
           "accessibility failures", "unpaid overtime", "emissions claims", "loyalty points",
           "refund refusals", "cloud outages", "tax arrangements", "patent licensing",
           "merger terms", "pension cuts", "seller terms"]
# Issues that the bench topics match (BENCH_TOPICS): an event about one of them is a match.
_TOPICAL = ["antitrust practices", "an alleged search monopoly", "Section 230 immunity",
            "content moderation failures", "child safety on its app", "age verification rules",
            "selling data to data brokers", "location surveillance", "subpoenas for user chats"]
_PRODUCTS = ["smart glasses", "electric van", "AI assistant", "folding phone", "game console",
             "payments card", "streaming bundle", "delivery drone", "home robot", "chip",
             "satellite service", "fitness ring", "cloud region", "translation earbuds"]
# Per kind: title templates and lede templates, each outlet taking its own. An event's details
# (`detail`, `thing`: words drawn from thousands) are what its reports share and other events of
# the same kind, company or regulator do not, as in the news.
_KINDS: dict[str, tuple[list[str], list[str]]] = {
    "suit": (["{reg_t} sues {co} over {issue}", "{co} hit with lawsuit over {detail}",
              "{reg_t} takes {co} to court over {detail}, alleging {issue}",
              "{co} faces {reg} legal action in row over {detail}",
              "Lawsuit accuses {co} of {issue} in {detail} scheme"],
             ["{reg_t} filed a lawsuit against {co} in {place} on {day} over its {detail}, "
              "accusing it of {issue} and seeking {amount}.",
              "{co} was sued by {reg} over {issue}; the complaint, filed in {place}, centres on "
              "the {detail} and the {thing} and asks for {amount}.",
              "In a complaint filed in {place}, {reg} says {co} used its {detail} for {issue}. "
              "It wants {amount} and an end to the {thing}."]),
    "fine": (["{co} fined {amount} by {reg} over {issue}",
              "{reg_t} hits {co} with {amount} penalty over {detail}",
              "{co} must pay {amount} after {reg} probe into {detail}",
              "Record {amount} fine for {co} over {detail} and {thing}"],
             ["{reg_t} fined {co} {amount} on {day} after an investigation into its {detail} "
              "that began in {place}.",
              "{co} will pay {amount} to settle {reg}'s case over {issue} and its {detail}, the "
              "regulator said in {place}.",
              "The {amount} penalty ends a two-year inquiry by {reg} into the {thing} and "
              "{detail} at {co}."]),
    "deal": (["{co} to buy {co2} for {amount}", "{co} agrees {amount} takeover of {co2}",
              "{co2} accepts {amount} offer from {co} to gain {detail}",
              "{co} strikes {amount} deal for {co2}'s {thing} business"],
             ["{co} agreed on {day} to acquire {co2}, maker of {detail}, for {amount} in a deal "
              "announced in {place}.",
              "The {amount} acquisition of {co2} by {co} gives it the {thing} and {detail}.",
              "{co2} shareholders will receive {amount} under the agreement with {co}, which "
              "wants its {detail}."]),
    "jobs": (["{co} to cut {n} jobs in {place}", "{co} plans {n} layoffs at {detail} unit",
              "{n} jobs to go at {co}'s {place} {thing} operation",
              "{co} confirms {n} redundancies as {detail} falters"],
             ["{co} said on {day} it would cut {n} jobs at its {place} site, blaming weak demand "
              "for {detail}.",
              "About {n} workers at {co}'s {thing} operation in {place} will lose their jobs.",
              "{co} is closing its {detail} unit in {place} with the loss of {n} roles, {person} "
              "told staff."]),
    "breach": (["{co} says hackers stole data of {n} customers",
                "{detail} breach at {co} exposes {n} accounts",
                "{co} hit by cyberattack on {thing} affecting {n} users",
                "{n} customers' details taken in {co} {detail} hack"],
               ["{co} disclosed on {day} that attackers used its {detail} to reach records of "
                "{n} customers.",
                "Hackers got into {co}'s {thing} systems in {place} and took data on {n} users.",
                "{co} is notifying {n} customers whose details were stolen through the {detail}, "
                "{person} said."]),
    "ceo": (["{person} to step down as {co} chief executive",
             "{co} names {person2} to replace {person} as CEO",
             "{co} boss {person} quits after {detail} row",
             "{person} leaves {co}; {person2} takes over"],
            ["{co} said on {day} that {person} will leave as chief executive after the {detail} "
             "affair, with {person2} taking over.",
             "{person}, who ran {co}'s {thing} push, is stepping down; {person2} succeeds them.",
             "The board of {co} in {place} appointed {person2} after {person} resigned over "
             "the {detail}."]),
    "launch": (["{co} unveils {product} priced at {price}",
                "{co}'s new {product} with {detail} goes on sale for {price}",
                "First look: {co} {product} costs {price}",
                "{co} launches {detail} {product} in {place}"],
               ["{co} showed its {product} with {detail} in {place} on {day}; it will cost "
                "{price}.",
                "The {product} from {co} goes on sale next month at {price}, with {detail} and "
                "a {thing}, {person} said.",
                "{co} is betting on a {price} {product} with {detail}, unveiled in {place}."]),
    "ruling": (["Judge rules against {co} in {detail} case",
                "Court in {place} finds {co} liable over {issue}",
                "{co} loses {detail} case, ordered to pay {amount}",
                "{co} must pay {amount} after {place} court ruling on {thing}"],
               ["A judge in {place} ruled on {day} that {co} was liable for {issue} over its "
                "{detail} and ordered it to pay {amount}.",
                "{co} lost a case over its {detail} in {place}; damages were set at {amount}.",
                "The ruling in {place} orders {co} to pay {amount} over the {thing} and {issue}; "
                "{co} said it would appeal."]),
}


@lru_cache(maxsize=1)
def _detail_words() -> list[str]:
    """Words for events' details: English words of middling frequency (wordfreq's list)."""
    from wordfreq import top_n_list

    return [w for w in top_n_list("en", 30000)[6000:] if w.isalpha() and w.isascii()
            and len(w) >= 5]


def _amount(rng: random.Random) -> str:
    value = rng.choice([rng.randint(2, 99), rng.randint(100, 950)])
    return rng.choice(["${v}m", "${v} million", "£{v}m", "€{v}m", "${v}bn"]).format(v=value)


def _event(rng: random.Random, topical: bool) -> dict[str, str]:
    """One event: its kind and the names, places and figures its reports share."""
    kind = rng.choice(list(_KINDS))
    co, co2 = rng.sample(_COMPANIES, 2)
    person, person2 = (f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(2))
    reg = rng.choice(_REGULATORS)
    return {"kind": kind, "co": co, "co2": co2, "person": person, "person2": person2,
            "reg": reg, "reg_t": reg[:1].upper() + reg[1:],
            "issue": rng.choice(_TOPICAL if topical else _ISSUES),
            "topical": "yes" if topical else "",
            "place": rng.choice(_PLACES).replace("_", " "), "amount": _amount(rng),
            "n": f"{rng.randint(2, 90) * 100:,}", "product": rng.choice(_PRODUCTS),
            "price": f"${rng.randint(2, 40) * 50 - 1:,}",
            "day": rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
            "turn": str(rng.randrange(8)),
            "detail": " ".join(rng.sample(_detail_words(), 2)),
            "thing": rng.choice(_detail_words())}


def _report(rng: random.Random, event: dict[str, str], rank: int) -> tuple[str, str]:
    """The title and lede of the event's `rank`-th outlet: each its own template, as far as
    there are templates, then with the place or a label added."""
    titles, ledes = _KINDS[event["kind"]]
    turn = int(event["turn"]) + rank
    title = titles[turn % len(titles)].format(**event)
    if turn >= len(titles):
        title = rng.choice(["{place}: {t}", "{t} - report", "Update: {t}", "{t}, sources say"]
                           ).format(t=title, place=event["place"])
    lede = ledes[(turn + rng.randrange(2)) % len(ledes)].format(**event)
    if event["topical"] and event["issue"] not in title + lede:
        lede += rng.choice([" It comes amid scrutiny of {issue}.", " Critics cite {issue}.",
                            " The case adds to questions over {issue}."]).format(**event)
    return title, lede


SHARED_SHARE = 0.2  # of --mix news items, those reporting an event other outlets carry too
TOPICAL_SHARE = 0.06  # of events, those about a topic


def _news_items(rng: random.Random, counts: list[int], base: datetime
                ) -> list[list[tuple[datetime, str, str, int]]]:
    """Each feed's (time, title, lede, event number) items, newest first: shared events and
    its own."""
    total = sum(counts)
    slots: list[list[tuple[datetime, str, str, int]]] = [[] for _ in counts]
    shared = events = 0
    while shared < SHARED_SHARE * total:
        event = _event(rng, rng.random() < TOPICAL_SHARE)
        k = rng.choice([2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6, 8, 10])
        feeds = [f for f in rng.sample(range(len(counts)), min(k, len(counts)))
                 if len(slots[f]) < counts[f]]
        start = base - timedelta(minutes=rng.randint(120, 2400))
        for rank, f in enumerate(feeds):
            title, lede = _report(rng, event, rank)
            slots[f].append((start + timedelta(minutes=rng.randint(0, 300)), title, lede, events))
        shared += len(feeds)
        events += 1
    for f, count in enumerate(counts):
        for j in range(count - len(slots[f])):
            event = _event(rng, rng.random() < TOPICAL_SHARE)
            title, lede = _report(rng, event, 0)
            slots[f].append((base - timedelta(hours=j + f % 24, minutes=rng.randint(0, 59)),
                             title, lede, events))
            events += 1
        slots[f].sort(reverse=True)
    return slots


def _news_words(rng: random.Random, pool: list[str], feed: int, key: str, when: datetime,
                title: str, lede: str) -> tuple[str, str, str]:
    """A news item's title, link and HTML body: the lede, then paragraphs from the pool."""
    link = f"https://site{feed}.example.com/{when:%Y/%m}/{key}?utm_medium=rss"
    body = f"<p>{escape(lede, quote=False)}</p>" + "".join(rng.choice(pool) for _ in range(2))
    return title, link, body


def generate(n_feeds: int, n_items: int, seed: int = 1, mix: str = "escaped") -> Path:
    """Write v1/ (the feeds) and v2/ (a tenth of them with new items) once; reuse after."""
    suffix = "" if mix == "escaped" else f"-{mix}"
    root = OUT / f"feeds-{n_feeds}x{n_items}{suffix}"
    manifest = root / "manifest.json"
    want: dict[str, object] = {"version": GENERATOR_VERSION, "feeds": n_feeds,
                               "items": n_items, "seed": seed}
    if mix != "escaped":
        want["mix"] = mix
    match_share = 0.9 if mix == "worst" else 0.03 if mix == "mixed" else 0.06
    if manifest.exists() and json.loads(manifest.read_text()) == want:
        return root
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    v1, v2 = root / "v1", root / "v2"
    v1.mkdir(parents=True)
    v2.mkdir()
    rng = random.Random(seed)
    pool = _paragraph_pool(rng)
    base = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    n_changed = 0
    total = 0
    news: list[list[tuple[datetime, str, str, int]]] | None = None
    truth: dict[str, int] = {}  # --mix news: each item's event, to score the grouping by
    shapes: list[tuple[str, int]] = []
    if mix == "news":
        shapes = [(rng.choices(_STYLES, _STYLE_WEIGHTS)[0], _feed_size(rng, n_items))
                  for _ in range(n_feeds)]
        news = _news_items(rng, [count for _, count in shapes], base)
    for f in range(n_feeds):
        items = []
        style, count = "escaped", n_items
        if news is not None:
            style, count = shapes[f]
            for j, (when, title, lede, event) in enumerate(news[f]):
                truth[f"site{f}.example.com/item-{j}"] = event
                words = _news_words(rng, pool, f, f"item-{j}", when, title, lede)
                items.append(_item_mixed(rng, pool, f, f"item-{j}", when, False, None, style,
                                         words))
            count = 0
        elif mix != "escaped":
            style = rng.choices(_STYLES, _STYLE_WEIGHTS)[0]
            count = _feed_size(rng, n_items)
        for j in range(count):
            shared = rng.randrange(5000) if rng.random() < 0.02 else None
            when = base - timedelta(hours=j + f % 24)
            matched = rng.random() < match_share
            items.append(
                _item(rng, pool, f, f"item-{j}", when, matched, shared) if mix == "escaped"
                else _item_mixed(rng, pool, f, f"item-{j}", when, matched, shared, style))
        body = _feed_mixed(f, items, base, style)
        total += len(body)
        name = f"f{f:05d}.xml"
        (v1 / name).write_bytes(body)
        if f % round(1 / CHANGED_SHARE) == 0:
            fresh = []
            for j in range(NEW_ITEMS_PER_CHANGED_FEED):
                when = base + timedelta(hours=j + 1)
                words = None
                if news is not None:
                    title, lede = _report(rng, _event(rng, rng.random() < TOPICAL_SHARE), 0)
                    words = _news_words(rng, pool, f, f"new-{j}", when, title, lede)
                fresh.append(_item_mixed(rng, pool, f, f"new-{j}", when,
                                         rng.random() < match_share, None, style, words))
            keep = items[: max(len(items) - NEW_ITEMS_PER_CHANGED_FEED, 0)]
            (v2 / name).write_bytes(
                _feed_mixed(f, fresh + keep, base + timedelta(hours=3), style))
            n_changed += 1
        else:
            try:  # the same bytes: a hard link costs no disk
                os.link(v1 / name, v2 / name)
            except OSError:
                shutil.copyfile(v1 / name, v2 / name)
    if truth:
        (root / "truth.json").write_text(json.dumps(truth))
    manifest.write_text(json.dumps({**want}))
    (root / "stats.json").write_text(json.dumps({"changed": n_changed,
                                                 "avg_bytes": total // max(n_feeds, 1)}))
    print(f"generated {n_feeds:,} feeds x {n_items} items in {root} "
          f"({total / max(n_feeds, 1) / 1024:.1f} KB each, {time.perf_counter() - started:.1f}s)",
          file=sys.stderr)
    return root


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the feed server did not start on port {port}")


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    open_file_cache max=20000 inactive=60s;
    types {{ application/rss+xml xml; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
{validators}
    }}
}}
"""

# nginx has no switch to drop Last-Modified from static files; SSI processing does that (and
# clears the ETag), with nothing to substitute in these files.
NGINX_NO_VALIDATORS = """\
        etag off;
        if_modified_since off;
        ssi on;
        ssi_types application/rss+xml;
        ssi_last_modified off;"""
NGINX_VALIDATORS = """\
        etag on;
        if_modified_since exact;"""


class Server:
    """nginx (if installed) or an aiohttp static server, restartable per phase on one port."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, root: Path, validators: bool) -> None:
        self.stop()
        if self.kind == "nginx":
            conf = self.tmp / "nginx.conf"
            conf.write_text(NGINX_CONF.format(
                user="user root root;\n" if os.geteuid() == 0 else "",
                tmp=self.tmp, port=self.port, root=root,
                validators=NGINX_VALIDATORS if validators else NGINX_NO_VALIDATORS))
            cmd = [shutil.which("nginx") or "nginx", "-c", str(conf), "-p", str(self.tmp)]
        else:
            cmd = [sys.executable, __file__, "_serve", str(root), str(self.port),
                   "on" if validators else "off"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        try:
            wait_port(self.port)
        except RuntimeError:
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None else ""
            raise RuntimeError(f"{self.kind} did not start: {err}") from None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if self.kind != "nginx" else signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        # The port must be free again before the next phase binds it.
        for _ in range(100):
            try:
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", self.port))
                    return
            except OSError:
                time.sleep(0.05)


def serve(root: str, port: str, validators: str) -> None:
    """The fallback server: aiohttp's FileResponse sends ETag/Last-Modified and answers 304."""
    from aiohttp import web

    base = Path(root)

    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = base / name
        if "/" in name or not path.is_file():
            raise web.HTTPNotFound()
        if validators == "on":
            return web.FileResponse(path, headers={"Content-Type": "application/rss+xml"})
        return web.Response(body=path.read_bytes(), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None,
                backlog=4096)


# ---------------------------------------------------------------- measuring a process


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    return pids


def _pss_rss_kb(pid: int) -> tuple[int, int]:
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def machine_busy() -> float:
    """CPU seconds all CPUs have spent busy since boot (Linux; 0 elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int | None) -> float:
    """CPU seconds used so far by a process and its children (the feed server)."""
    if pid is None:
        return 0.0
    total = 0.0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


@dataclass
class Run:
    phase: str
    tool: str
    wall: float = 0.0
    cpu: float = 0.0
    peak_pss_mb: float = 0.0  # the whole process tree, proportional set size, sampled
    peak_rss_mb: float = 0.0  # the whole process tree, resident sizes added up, sampled
    max_rss_mb: float = 0.0  # the largest single process (getrusage)
    feeds: int = 0
    rc: int = 0
    other: float = 0.0  # CPU seconds that the rest of the machine used meanwhile (noise)
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.feeds / self.wall if self.wall else 0.0


def measure(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            interval: float = 0.05) -> tuple[float, float, float, float, float, int, str, str]:
    """Run cmd to completion: wall s, cpu s, peak tree PSS MB, peak tree RSS MB, max RSS MB."""
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        return _measure(cmd, env, cwd, interval, out_f, err_f)


def _measure(cmd: list[str], env: dict[str, str] | None, cwd: Path | None, interval: float,
             out_f: IO[bytes], err_f: IO[bytes]
             ) -> tuple[float, float, float, float, float, int, str, str]:
    started = time.perf_counter()
    if env is None:
        # An installed package has its bytecode compiled; a shell that disables writing it
        # (PYTHONDONTWRITEBYTECODE) would make every run compile curator afresh.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if cwd is None:
        # Not the repository's root: `python -m curator` (and `-c`) put their working folder
        # first on sys.path, so from there they would import this tree's curator whatever
        # PYTHONPATH says, and `--curator-cmd 'env PYTHONPATH=/tmp/old python -m curator'`
        # would time this tree twice.
        OUT.mkdir(exist_ok=True)
        cwd = OUT
    # Its own process group, so that stopping the benchmark stops the measured tool and its
    # workers with it (see the finally below); Ctrl-C reaches it through that finally too.
    # A stop that comes while Popen is still starting the child (forked, perhaps already
    # running, but its pid not yet returned: a busy machine can hold Popen there for as long as
    # the child takes to start) is held until Popen returns, then raised inside the try below:
    # otherwise nothing would know the child to stop it.
    with _stops_held() as held:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env, cwd=cwd,
                                start_new_session=True)
    try:
        for signum in held:
            signal.raise_signal(signum)
        return _wait(proc, started, interval, out_f, err_f)
    finally:
        _stop_group(proc)


@contextlib.contextmanager
def _stops_held() -> Iterator[list[int]]:
    """SIGTERM and SIGINT noted, not handled, inside the block; the caller raises them again
    once it can clean up after them (and they are raised again here if the block fails).
    Handlers run in the main thread only: elsewhere nothing is held."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    before = {s: signal.signal(s, lambda signum, _frame: held.append(signum))
              for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for s, handler in before.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)

    try:
        yield held
    except BaseException:
        restore()
        for signum in held:
            signal.raise_signal(signum)
        raise
    restore()


def _stop_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """End a measured process and its group if the benchmark stops before it does."""
    if proc.returncode is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait(proc: subprocess.Popen[bytes], started: float, interval: float, out_f: IO[bytes],
          err_f: IO[bytes]) -> tuple[float, float, float, float, float, int, str, str]:
    peak = [0, 0]
    stop = threading.Event()

    def sample() -> None:
        can_pss = Path(f"/proc/{proc.pid}/smaps_rollup").exists()
        while not stop.is_set():
            pss = rss = 0
            for p in _tree(proc.pid):
                a, b = _pss_rss_kb(p) if can_pss else (0, 0)
                pss += a
                rss += b
            peak[0] = max(peak[0], pss)
            peak[1] = max(peak[1], rss)
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        stop.set()
    wall = time.perf_counter() - started
    sampler.join()
    out_f.seek(0)
    err_f.seek(0)
    # ru_maxrss is KB on Linux, bytes on macOS.
    max_rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return (wall, usage.ru_utime + usage.ru_stime, peak[0] / 1024, peak[1] / 1024, max_rss,
            proc.returncode, out_f.read().decode("utf-8", "replace"),
            err_f.read().decode("utf-8", "replace"))


# ---------------------------------------------------------------- the contenders


CURATOR_CMD: list[str] = []  # --curator-cmd: another build of curator, for before/after


def curator_cmd() -> list[str]:
    if CURATOR_CMD:
        return CURATOR_CMD
    exe = Path(sys.executable).with_name("curator")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "curator"]


def write_bench_config(work: Path, head: list[str], urls: Iterable[str]) -> Path:
    """A feeds.yaml for the benchmarks: `head` lines, the bench output, the sources, the topics."""
    work.mkdir(parents=True, exist_ok=True)
    lines = [
        "database: curator.db",
        *head,
        "output:",
        "  title: Bench",
        "  link: https://example.org/bench/",
        "  description: benchmark output",
        "  rss: public/feed.xml",
        "  atom: public/atom.xml",
        "sources:",
        *(f"  - url: {u}" for u in urls),
    ]
    path = work / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n" + BENCH_TOPICS)
    return path


def write_curator_config(work: Path, urls: list[str], concurrency: int) -> Path:
    return write_bench_config(work, [
        "poll:",
        "  interval: 30m",
        "  timeout: 60s",
        f"  concurrency: {concurrency}",
        # Every benchmark feed is on one host; real feed lists spread over many hosts, where the
        # default per-host limit of 2 is politeness, not a bottleneck.
        f"  per_host: {concurrency}",
    ], urls)


def run_curator(phase: str, config: Path, n: int) -> Run:
    wall, cpu, pss, rss, maxrss, rc, out, err = measure(
        [*curator_cmd(), "--config", str(config), "-q", "poll", "--all", "--json"])
    run = Run(phase, "curator", wall, cpu, pss, rss, maxrss, n, rc)
    try:
        run.detail = json.loads(out)
    except ValueError:
        run.detail = {"error": (err or out)[-2000:]}
    if rc != 0:
        run.detail["stderr"] = err[-2000:]
    db = config.parent / "curator.db"
    with sqlite3.connect(db) as conn:
        run.detail["entries_stored"] = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        run.detail["candidates_stored"] = conn.execute(
            "SELECT count(*) FROM candidates").fetchone()[0]
    run.detail["db_bytes"] = sum(f.stat().st_size for f in (db, Path(f"{db}-wal")) if f.exists())
    return run


def reader_worker(db: str, urls_file: str, workers: str, add: str) -> None:
    """Runs inside the measured process: reader doing one poll, as its docs recommend."""
    try:
        import sgmllib  # noqa: F401
    except ImportError:
        # reader vendors a feedparser that imports `sgmllib` (the sgmllib3k package); feedparser
        # 6.0.12+ depends on the same module renamed feedparser_sgmllib instead.
        import feedparser_sgmllib

        sys.modules["sgmllib"] = feedparser_sgmllib
    from reader import make_reader

    reader = make_reader(db)
    try:
        if add == "add":
            urls = Path(urls_file).read_text().split()
            for u in urls:
                reader.add_feed(u, exist_ok=True)
            return
        # scheduled=False: update every feed now, like curator's --all.
        reader.update_feeds(workers=int(workers), scheduled=False)
    finally:
        reader.close()


def prepare_reader(work: Path, urls: list[str]) -> None:
    """Add the feeds: reader's equivalent of writing feeds.yaml, done before and not timed."""
    work.mkdir(parents=True, exist_ok=True)
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(urls))
    *_rest, rc, out, err = measure(
        [sys.executable, __file__, "_reader", str(work / "reader.sqlite"), str(urls_file), "0",
         "add"])
    if rc != 0:
        raise RuntimeError(f"reader add_feed failed: {err[-2000:]}")


def run_reader(phase: str, work: Path, urls: list[str], workers: int) -> Run:
    db = work / "reader.sqlite"
    urls_file = work / "urls.txt"
    wall, cpu, pss, rss, maxrss, rc, out, err = measure(
        [sys.executable, __file__, "_reader", str(db), str(urls_file), str(workers), "update"])
    run = Run(phase, "reader", wall, cpu, pss, rss, maxrss, len(urls), rc)
    if rc != 0:
        run.detail["stderr"] = err[-2000:]
    with sqlite3.connect(db) as conn:
        run.detail["entries_stored"] = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        run.detail["feeds_with_errors"] = conn.execute(
            "SELECT count(*) FROM feeds WHERE last_exception IS NOT NULL").fetchone()[0]
    return run


# ---------------------------------------------------------------- report


def table(runs: list[Run], goals: dict[str, float]) -> str:
    head = (f"{'phase':<16} {'tool':<8} {'wall s':>8} {'feeds/s':>9} {'cpu s':>7} "
            f"{'peak PSS MB':>12} {'peak RSS MB':>12} {'max proc MB':>12} {'entries':>9} "
            f"{'other':>5}  ratio")
    lines = [head, "-" * len(head)]
    by_phase: dict[str, dict[str, Run]] = {}
    for r in runs:
        by_phase.setdefault(r.phase, {})[r.tool] = r
    for phase, tools in by_phase.items():
        for tool, r in tools.items():
            ratio = ""
            if tool == "curator" and "reader" in tools and r.wall:
                x = tools["reader"].wall / r.wall
                # The goals are for 1,000 feeds and more: below that, start-up time dominates.
                goal = goals.get(phase) if r.feeds >= 1000 else None
                mark = "" if goal is None else (f"  (goal >= {goal:g}x: "
                                                f"{'met' if x >= goal else 'NOT met'})")
                ratio = f"{x:.1f}x faster{mark}"
            if r.rc != 0:
                ratio = f"EXIT {r.rc}"
            lines.append(
                f"{phase:<16} {tool:<8} {r.wall:>8.2f} {r.rate:>9.0f} {r.cpu:>7.1f} "
                f"{r.peak_pss_mb:>12.0f} {r.peak_rss_mb:>12.0f} {r.max_rss_mb:>12.0f} "
                f"{r.detail.get('entries_stored', ''):>9} {r.other:>5.1f}  {ratio}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--feeds", type=int, default=1000, help="how many feeds (default 1000)")
    p.add_argument("--items", type=int, default=30, help="items per feed (default 30)")
    p.add_argument("--only", choices=["curator", "reader"], help="run one tool only")
    p.add_argument("--skip-reader", action="store_true", help="same as --only curator")
    p.add_argument("--server", choices=["auto", "nginx", "python"], default="auto",
                   help="auto: nginx when installed, else aiohttp")
    p.add_argument("--phases", default="first,304,changed",
                   help="comma-separated subset of first,304,changed (first is always run)")
    p.add_argument("--reader-workers", type=int, default=4,
                   help="reader's update_feeds(workers=...) (default 4: its fastest here)")
    p.add_argument("--concurrency", type=int, default=64,
                   help="curator's poll.concurrency (default 64, its shipped default)")
    p.add_argument("--repeat", type=int, default=3,
                   help="run the all-304 poll this many times and show the median (default 3)")
    p.add_argument("--mix", choices=MIXES, default="escaped",
                   help="escaped: every feed RSS with escaped HTML (default); mixed: escaped, "
                        "CDATA with content:encoded and Atom, 10 to 90 items, 3%% matching; "
                        "worst: mixed with 90%% of items matching a topic; news: mixed with "
                        "news articles, a fifth of them carried by 2 to 10 outlets")
    p.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    p.add_argument("--curator-cmd", metavar="CMD",
                   help="run this command as curator, e.g. 'env PYTHONPATH=/tmp/old python -m "
                        "curator' to measure a change before and after")
    args = p.parse_args(argv)
    if args.curator_cmd:
        import shlex

        CURATOR_CMD[:] = shlex.split(args.curator_cmd)
    tools = ["curator", "reader"]
    if args.skip_reader or args.only == "curator":
        tools = ["curator"]
    elif args.only == "reader":
        tools = ["reader"]
    if "reader" in tools:
        try:
            import reader  # noqa: F401
        except ImportError:
            print("reader is not installed: pip install -e '.[bench]' (make bench does), "
                  "or run with --skip-reader", file=sys.stderr)
            return 2
    phases = ["first"] + [x for x in args.phases.split(",") if x in ("304", "changed")]

    info = machine()
    kind = args.server
    if kind == "auto":
        kind = "nginx" if shutil.which("nginx") else "python"
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"{info['os']}, Python {info['python']}, SQLite {info['sqlite']}", file=sys.stderr)
    print(f"versions: feedparser {info['feedparser']}, reader {info['reader']}, "
          f"aiohttp {info['aiohttp']}; server: {kind}", file=sys.stderr)

    root = generate(args.feeds, args.items, mix=args.mix)
    # As pip does at install time (an editable install skips it): start-up is part of the race.
    import compileall

    import curator

    compileall.compile_dir(Path(curator.__file__).parent, quiet=1)
    stats = json.loads((root / "stats.json").read_text())
    OUT.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="run-", dir=OUT))
    server = Server(kind, tmp)
    # A SIGTERM must run the finally below, or the server would outlive the benchmark.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Ctrl-C stops the bench even when it was started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    urls = [f"http://127.0.0.1:{server.port}/f{i:05d}.xml" for i in range(args.feeds)]
    config = write_curator_config(tmp / "curator", urls, args.concurrency)
    runs: list[Run] = []
    labels = {"first": "first poll", "304": "all 304", "changed": "10% changed"}
    try:
        for phase in phases:
            label = labels[phase]
            server.start(root / ("v2" if phase == "changed" else "v1"),
                         validators=phase != "changed")
            # An all-304 poll changes nothing, so it can be run again: it is short enough for
            # a moment's noise to matter, so take the median of a few, the tools alternating.
            repeat = max(1, args.repeat) if phase == "304" else 1
            tries: dict[str, list[Run]] = {tool: [] for tool in tools}
            for _ in range(repeat):
                for tool in tools:
                    print(f"{label}: {tool} ...", file=sys.stderr, flush=True)
                    if tool == "reader" and phase == "first":
                        prepare_reader(tmp / "reader", urls)
                    server_pid = server.proc.pid if server.proc else None
                    busy, served = machine_busy(), tree_cpu(server_pid)
                    if tool == "curator":
                        run = run_curator(label, config, args.feeds)
                    else:
                        run = run_reader(label, tmp / "reader", urls, args.reader_workers)
                    run.other = max(0.0, machine_busy() - busy - run.cpu
                                    - (tree_cpu(server_pid) - served))
                    tries[tool].append(run)
                    print(f"  {run.wall:.2f}s, {run.rate:.0f} feeds/s, peak PSS "
                          f"{run.peak_pss_mb:.0f} MB; {json.dumps(run.detail)[:300]}",
                          file=sys.stderr, flush=True)
            for tool in tools:
                ordered = sorted(tries[tool], key=lambda r: r.wall)
                run = ordered[len(ordered) // 2]
                if repeat > 1:
                    run.detail["walls"] = [round(r.wall, 3) for r in tries[tool]]
                    run.phase = f"{label} (x{repeat})"
                runs.append(run)
    finally:
        server.stop()
    # Issue 16's targets: cold and all-304 at least 5x reader's, 10% changed at least 20x.
    goals = {"first poll": 5.0, "all 304": 5.0, "10% changed": 20.0}
    goals.update({f"all 304 (x{args.repeat})": 5.0})
    print()
    print(f"{args.feeds:,} feeds x {args.items} items ({stats['avg_bytes'] / 1024:.1f} KB avg), "
          f"server {kind} on 127.0.0.1, reader workers={args.reader_workers}, "
          f"curator concurrency={args.concurrency}; {info['nproc']} CPUs ({info['cpu']}), "
          f"{info['ram']}")
    print(table(runs, goals))
    print("\nratio = reader wall time / curator wall time, both measured in this run. "
          "peak PSS: the whole process tree (workers included), sampled every 50 ms.\n"
          "other = CPU seconds the rest of the machine used during the run (neither the tool "
          "nor the feed server): well above zero, other work competed for the CPUs and the "
          "times are noisy.")
    last = [r for r in runs if r.tool == "curator" and r.detail.get("entries_stored")]
    if last:
        size, n = last[-1].detail["db_bytes"], last[-1].detail["entries_stored"]
        print(f"curator's database: {size / 1e6:.0f} MB for {n:,} entries "
              f"({size / n:,.0f} bytes per entry, indexes included)")
    if args.json_out:
        args.json_out.write_text(json.dumps(
            {"machine": info, "feeds": args.feeds, "items": args.items, "server": kind,
             "runs": [asdict(r) for r in runs]}, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(r.rc == 0 for r in runs) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "_reader":
        reader_worker(*sys.argv[2:6])
    else:
        sys.exit(main())
