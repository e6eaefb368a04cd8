"""A feed with nothing in it is shown as a problem: failed when broken, a warning when empty."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from curator.config import load
from curator.web import create_app

# A root the parser recognises, then nothing it can read: no item survives the error.
BROKEN = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Broken'
          b"</title><link>https://broken.example.org/</link><desc></channel></rss>")
EMPTY = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Empty'
         b"</title><link>https://empty.example.org/</link><description>d</description>"
         b"</channel></rss>")
STORY = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Fine</title>'
         b"<link>https://fine.example.org/</link><description>d</description><item><title>"
         b"Antitrust suit</title><link>https://fine.example.org/1</link></item></channel></rss>")


def desk_sources(cli: Any, clock: Any) -> str:
    from curator.cli import cli as main

    added = CliRunner().invoke(main, ["--config", str(cli.config), "editor", "add", "maria",
                                      "--password-stdin"], input="correct horse battery\n")
    assert added.exit_code == 0, added.output
    app = create_app(load(cli.config), now=clock)
    app.config["TESTING"] = True
    client = app.test_client()
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"username": "maria", "password": "correct horse battery",
                                "csrf_token": token})
    resp = client.get("/sources")
    assert resp.status_code == 200
    return resp.text


def test_a_broken_feed_with_no_entries_fails(server: Any, make_cli: Any, clock: Any) -> None:
    url = server.add("/broken.xml", BROKEN)
    cli = make_cli([{"url": url, "name": "Broken"}])
    summary = cli("poll", "--json")
    assert summary["failed"] == 1 and summary["fetched"] == 0  # SPEC: "a body that is not a feed"
    [row] = cli("sources", "--json")
    assert row["status"] == 200 and row["failures"] == 1
    assert row["error"].startswith("not a feed: no entries found; the XML is broken (line 1")
    assert "FAILING×1" in cli("sources").stdout
    assert "error: not a feed: no entries found" in cli("sources").stdout
    page = desk_sources(cli, clock)
    assert "Failing ×1" in page and "no entries found" in page


def test_a_well_formed_empty_feed_is_a_warning_not_a_failure(server: Any, make_cli: Any,
                                                             clock: Any) -> None:
    empty = server.add("/empty.xml", EMPTY)
    fine = server.add("/fine.xml", STORY)
    cli = make_cli([{"url": empty, "name": "Empty"}, {"url": fine, "name": "Fine"}])
    summary = cli("poll", "--json")
    assert summary["failed"] == 0 and summary["fetched"] == 2
    rows = {r["name"]: r for r in cli("sources", "--json")}
    assert rows["Empty"]["failures"] == 0
    assert rows["Empty"]["error"].startswith("no entries found")
    assert rows["Fine"]["error"] is None
    human = cli("sources").stdout
    assert "Empty" in human and "WARNING" in human and "warning: no entries found" in human
    page = desk_sources(cli, clock)
    assert "Warning" in page and "no entries found" in page
    # The same body again (a 304 here) keeps the warning; entries appearing clear it.
    clock.advance(hours=1)
    assert cli("poll", "--json")["not_modified"] == 2
    assert cli("sources", "--json")[0]["error"].startswith("no entries found")
    server.add("/empty.xml", STORY.replace(b"fine.example", b"empty.example"))
    clock.advance(hours=1)
    cli("poll", "--json")
    assert {r["name"]: r["error"] for r in cli("sources", "--json")} == {"Empty": None,
                                                                          "Fine": None}


@pytest.mark.parametrize("body", [BROKEN, BROKEN.replace(b"<desc>", b"<junk")])
def test_parse_says_why(body: bytes) -> None:
    from curator.exceptions import NotAFeed
    from curator.parse import parse_feed

    with pytest.raises(NotAFeed, match="no entries found; the XML is broken"):
        parse_feed("https://broken.example.org/feed.xml", body, {})
