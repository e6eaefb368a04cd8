"""How a poll treats each kind of broken or hostile source, end to end through `curator`."""

from __future__ import annotations

import gzip
from email.utils import format_datetime

import yaml
from conftest import DATA

RSS = (DATA / "feeds" / "rss20.xml").read_bytes()


def rows(cli):
    return {r["url"]: r for r in cli("sources", "--json")}


def test_410_disables_until_enable(server, make_cli, clock):
    url = server.add("/gone.xml", b"", status=410, validators=False)
    cli = make_cli([url])
    assert cli("poll", "--json")["failed"] == 1
    row = rows(cli)[url]
    assert row["status"] == 410 and "gone" in row["disabled"] and "curator enable" in row["disabled"]
    clock.advance(days=3)
    assert cli("poll", "--all", "--json")["skipped"] == 1
    assert len(server.hits("/gone.xml")) == 1
    server.routes["/gone.xml"].status = 200
    server.routes["/gone.xml"].body = RSS
    cli("enable", url)
    assert rows(cli)[url]["disabled"] is None
    assert cli("poll", "--json")["fetched"] == 1


def test_retry_after_is_honoured_even_with_all(server, make_cli, clock):
    seconds = server.add("/busy.xml", b"", status=429, headers={"Retry-After": "7200"},
                         validators=False)
    when = clock().replace(hour=20)
    dated = server.add("/down.xml", b"", status=503, validators=False,
                       headers={"Retry-After": format_datetime(when, usegmt=True)})
    cli = make_cli([seconds, dated])
    assert cli("poll", "--json")["failed"] == 2
    r = rows(cli)
    assert r[seconds]["next_due"] == "2026-11-26T14:00:00Z"
    assert r[dated]["next_due"] == "2026-11-26T20:00:00Z"
    clock.advance(hours=1)
    assert cli("poll", "--all", "--json")["skipped"] == 2
    assert len(server.hits("/busy.xml")) == 1 and len(server.hits("/down.xml")) == 1
    clock.advance(hours=1, seconds=1)
    assert cli("poll", "--all", "--json")["skipped"] == 1
    assert len(server.hits("/busy.xml")) == 2


def test_backoff_grows_and_is_capped_at_a_day_then_success_resets(server, make_cli, clock):
    url = server.add("/flaky.xml", b"boom", status=500, validators=False)
    cli = make_cli([url])
    delays = []
    for _ in range(9):
        cli("poll", "--all", "--json")
        r = rows(cli)[url]
        due = r["next_due"]
        from curator.clock import parse_iso

        delays.append((parse_iso(due) - clock()).total_seconds())
        clock.advance(hours=1)
    assert rows(cli)[url]["failures"] == 9
    assert delays[0] >= 1800 and delays[1] > delays[0] and delays[2] > delays[1]
    assert max(delays) <= 86400 and delays[-1] >= 86400 * 0.99
    server.routes["/flaky.xml"].status = 200
    server.routes["/flaky.xml"].body = RSS
    cli("poll", "--all", "--json")
    r = rows(cli)[url]
    assert r["failures"] == 0 and r["error"] is None and r["status"] == 200


def test_a_week_of_failures_is_flagged(server, make_cli, clock):
    url = server.add("/dead.xml", b"", status=404, validators=False)
    cli = make_cli([url])
    cli("poll", "--json")
    assert "for a week" not in cli("sources").stdout
    clock.advance(days=8)
    cli("poll", "--all", "--json")
    out = cli("sources").stdout
    assert "FAILING" in out and "for a week" in out and "404" in out


def test_permanent_redirects_move_the_url_temporary_ones_do_not(server, make_cli):
    new = server.add("/new.xml", RSS)
    moved = server.add("/old.xml", b"", status=301, headers={"Location": "/new.xml"},
                       validators=False)
    server.add("/tmp-target.xml", RSS)
    temp = server.add("/temp.xml", b"", status=302, headers={"Location": "/tmp-target.xml"},
                      validators=False)
    cli = make_cli([moved, temp])
    assert cli("poll", "--json")["fetched"] == 2
    urls = [r["url"] for r in cli("sources", "--json")]
    assert urls == [new, temp]
    assert yaml.safe_load(cli.config.read_text())["sources"][0] == moved  # feeds.yaml as written
    cli("poll", "--all", "--json")
    assert len(server.hits("/old.xml")) == 1 and len(server.hits("/new.xml")) == 2
    assert len(server.hits("/temp.xml")) == 2


def test_redirect_loops_and_too_many_hops_are_errors(server, make_cli):
    loop_a = server.add("/a.xml", b"", status=302, headers={"Location": "/b.xml"},
                        validators=False)
    server.add("/b.xml", b"", status=302, headers={"Location": "/a.xml"}, validators=False)
    for i in range(7):
        server.add(f"/hop{i}.xml", b"", status=307, headers={"Location": f"/hop{i + 1}.xml"},
                   validators=False)
    server.add("/hop7.xml", RSS)
    hops = server.url("/hop0.xml")
    cli = make_cli([loop_a, hops])
    assert cli("poll", "--json")["failed"] == 2
    r = rows(cli)
    assert "loop" in r[loop_a]["error"]
    assert "redirect" in r[hops]["error"]


def test_html_page_names_its_advertised_feed_and_empty_body_is_an_error(server, make_cli):
    page = server.add("/site/", b'<!doctype html><html><head><title>Site</title>'
                      b'<link rel="alternate" type="application/rss+xml" href="/site/feed.rss">'
                      b"</head><body>Hello</body></html>", content_type="text/html",
                      validators=False)
    empty = server.add("/empty.xml", b"", validators=False)
    cli = make_cli([page, empty])
    assert cli("poll", "--json")["failed"] == 2
    r = rows(cli)
    assert "not a feed" in r[page]["error"] and server.url("/site/feed.rss") in r[page]["error"]
    assert "empty" in r[empty]["error"]
    assert cli("candidates", "--json") == []


def test_validators_are_kept_only_from_successful_responses(server, make_cli, clock):
    url = server.add("/v.xml", RSS)
    cli = make_cli([url])
    cli("poll", "--json")
    etag = server.hits("/v.xml")[0]
    server.routes["/v.xml"].status = 500
    server.routes["/v.xml"].headers = {"ETag": '"bogus"'}
    clock.advance(hours=3)
    cli("poll", "--all", "--json")
    server.routes["/v.xml"].status = 200
    server.routes["/v.xml"].headers = {}
    clock.advance(hours=3)
    assert cli("poll", "--all", "--json")["not_modified"] == 1
    sent = server.hits("/v.xml")[-1]["if-none-match"]
    assert sent != '"bogus"' and sent.startswith('"')
    assert etag.get("if-none-match") is None


def test_unchanged_body_without_validators_is_not_parsed_again(server, make_cli, clock):
    url = server.add("/plain.xml", RSS, validators=False)
    cli = make_cli([url])
    assert cli("poll", "--json")["fetched"] == 1
    clock.advance(hours=3)
    again = cli("poll", "--all", "--json")
    assert again["not_modified"] == 1 and again["fetched"] == 0


def test_feed_hints_and_max_age_are_a_floor_on_the_interval(server, make_cli, clock):
    from curator.clock import parse_iso

    ttl = server.add("/ttl.xml", RSS.replace(b"<ttl>60</ttl>", b"<ttl>240</ttl>"))
    sy = server.add("/sy.xml", RSS.replace(
        b'<rss version="2.0"', b'<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/'
        b'syndication/"').replace(b"<ttl>60</ttl>", b"<sy:updatePeriod>daily</sy:updatePeriod>"
                                 b"<sy:updateFrequency>2</sy:updateFrequency>"))
    cached = server.add("/cc.xml", RSS.replace(b"<ttl>60</ttl>", b""),
                        headers={"Cache-Control": "public, max-age=10800"})
    week = server.add("/week.xml", RSS.replace(b"<ttl>60</ttl>", b"<ttl>10080</ttl>"))
    plain = server.add("/plain.xml", RSS.replace(b"<ttl>60</ttl>", b""))
    cli = make_cli([ttl, sy, cached, week, plain])
    cli("poll", "--json")
    now = clock()
    delay = {u: (parse_iso(r["next_due"]) - now).total_seconds() for u, r in rows(cli).items()}
    assert 4 * 3600 <= delay[ttl] <= 4 * 3600 * 1.1
    assert 12 * 3600 <= delay[sy] <= 12 * 3600 * 1.1
    assert 3 * 3600 <= delay[cached] <= 3 * 3600 * 1.1
    assert 86400 <= delay[week] <= 86400 * 1.1  # a hint never holds a source back over a day
    assert 1800 <= delay[plain] <= 1800 * 1.1


def test_gzip_is_accepted_and_a_bomb_is_refused_on_its_source_only(server, make_cli):
    good = server.add("/gz.xml", gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    bomb = server.add("/bomb.xml", gzip.compress(b"\0" * (30 * 1024 * 1024)),
                      headers={"Content-Encoding": "gzip"}, validators=False)
    cli = make_cli([good, bomb])
    result = cli("poll", "--json")
    assert result["fetched"] == 1 and result["failed"] == 1
    r = rows(cli)
    assert r[good]["error"] is None
    assert "larger than" in r[bomb]["error"]


def test_private_addresses_are_refused_when_configured(server, make_cli):
    url = server.add("/p.xml", RSS)
    cli = make_cli([url], poll={"block_private_addresses": True})
    assert cli("poll", "--json")["failed"] == 1
    assert "127.0.0.1" in rows(cli)[url]["error"]
    assert server.hits("/p.xml") == []


def test_entity_bomb_and_external_entity_feeds_fail_or_are_defused(server, make_cli, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = server.add("/xxe.xml", (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://' + str(secret) + '">]>'
        '<rss version="2.0"><channel><title>x</title><link>https://x.example/</link>'
        '<description>d</description><item><title>Section 230 &x;</title>'
        '<link>https://x.example/1</link></item></channel></rss>').encode())
    lol = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + "A" * 100 + '">'
           + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
                     for p, c in zip("abcdefgh", "bcdefghi", strict=True))
           + ']><rss version="2.0"><channel><title>&i;</title><link>https://l.example/</link>'
           '<description>d</description><item><title>Section 230</title>'
           '<link>https://l.example/1</link><description>&i;</description></item></channel></rss>')
    bomb = server.add("/lol.xml", lol.encode())
    cli = make_cli([xxe, bomb])
    cli("poll", "--json")
    dump = "".join(str(c) for c in cli("candidates", "--status", "all", "--json"))
    assert "TOP-SECRET-VALUE" not in dump
    assert "A" * 1000 not in dump
