"""parse: real feedparser on real files; each tests/data/parse/NAME.* beside NAME.expected.json."""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import html
import json
import pickle
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from curator.exceptions import NotAFeed, ParseError
from curator.parse import clean_text, html_to_text, parse_feed, sanitize_html
from curator.polltypes import EntryData, ParsedFeed

DATA = Path(__file__).parent / "data" / "parse"
FEED_URL = "https://feeds.example.net/parse/{name}"
CASES = sorted(p for p in DATA.iterdir()
               if not p.name.endswith(".json") and (DATA / f"{p.stem}.expected.json").exists())


def _iso(v: Any) -> Any:
    return v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v


def as_json(parsed: ParsedFeed) -> dict[str, Any]:
    """The shape of NAME.expected.json: dataclass fields, dates as ISO strings."""
    return {
        "source": dataclasses.asdict(parsed.source),
        "entries": [{f.name: _iso(getattr(e, f.name)) for f in dataclasses.fields(e) if f.init}
                    for e in parsed.entries],
    }


def parse_file(path: Path) -> ParsedFeed:
    headers_file = DATA / f"{path.stem}.headers.json"
    headers = json.loads(headers_file.read_text()) if headers_file.exists() else {}
    return parse_feed(FEED_URL.format(name=path.name), path.read_bytes(), headers)


def every_string(parsed: ParsedFeed) -> list[str]:
    data = as_json(parsed)
    values = list(data["source"].values())
    for entry in data["entries"]:
        values.extend(entry.values())
    return [v for v in values if isinstance(v, str)]


# ---------------------------------------------------------------- data-driven


def test_every_case_has_its_expectation() -> None:
    inputs = {p.stem for p in DATA.iterdir() if not p.name.endswith(".json")}
    expected = {p.name.removesuffix(".expected.json") for p in DATA.glob("*.expected.json")}
    assert inputs == expected
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_feed_file(path: Path) -> None:
    expected = json.loads((DATA / f"{path.stem}.expected.json").read_text())
    if "error" in expected:
        with pytest.raises(ParseError) as info:
            parse_file(path)
        assert type(info.value).__name__ == expected["error"]
        assert info.value.message == expected["message"]
        assert info.value.url == FEED_URL.format(name=path.name)
        if "alternate" in expected:
            assert isinstance(info.value, NotAFeed)
            assert info.value.alternate == expected["alternate"]
        return
    parsed = parse_file(path)
    got = as_json(parsed)
    assert got["source"] == expected["source"]
    assert [e["key"] for e in got["entries"]] == [e["key"] for e in expected["entries"]]
    for got_entry, want_entry in zip(got["entries"], expected["entries"], strict=True):
        assert got_entry == want_entry, got_entry["key"]


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_invariants(path: Path) -> None:
    """What holds for every feed: XML-safe text, aware UTC dates, absolute http(s) links."""
    try:
        parsed = parse_file(path)
    except ParseError:
        return
    for s in every_string(parsed):
        assert clean_text(s) == s
    for e in parsed.entries:
        assert isinstance(e, EntryData)
        for d in (e.published, e.updated):
            assert d is None or d.tzinfo is UTC
        for link in (e.link, e.url):
            assert link is None or link.startswith(("http://", "https://"))
        assert e.title == " ".join(e.title.split())
        assert e.text == " ".join(e.text.split())


# ---------------------------------------------------------------- specific promises


def test_text_does_not_repeat_a_summary_that_starts_the_content() -> None:
    first = parse_file(DATA / "rss20.xml").entries[0]
    assert first.summary.endswith("[…]</p>")
    assert first.text.count("The ruling limits protection") == 1


def test_hash_key_is_sha256_of_title_and_summary_as_written() -> None:
    entries = parse_file(DATA / "title-description-only.xml").entries
    raw = "Bulletin one\nOnly a title and a description; the key is a hash."
    assert entries[0].key == "hash:" + hashlib.sha256(raw.encode()).hexdigest()
    assert entries[0].link is None and entries[0].url is None


def test_hash_key_does_not_depend_on_the_feed_url() -> None:
    body = (DATA / "title-description-only.xml").read_bytes()
    a = parse_feed("https://a.example/feed", body, {})
    b = parse_feed("https://b.example/other/feed", body, {})
    assert [e.key for e in a.entries] == [e.key for e in b.entries]


@pytest.mark.parametrize("name", ["opaque-guids.xml", "no-guid-no-dates.xml", "rss20.xml"])
def test_keys_do_not_change_when_the_feed_moves(name: str) -> None:
    # A 301 (say to https, or to /feed/) changes the URL the body came from, never the keys.
    body = (DATA / name).read_bytes()
    before = parse_feed("http://old.example.com/rss.xml", body, {})
    after = parse_feed("https://new.example.org/feed/", body, {})
    assert [e.key for e in before.entries] == [e.key for e in after.entries]


def test_content_location_does_not_move_the_base() -> None:
    # RFC 7231 dropped Content-Location as a base URI; servers get it wrong too often.
    body = (DATA / "no-guid-no-dates.xml").read_bytes()
    parsed = parse_feed("https://undated.example.com/rss", body,
                        {"content-location": "https://cdn.example.org/x/rss"})
    assert parsed.entries[0].link == "https://undated.example.com/dispatch/1"


def test_rss_served_as_text_html_is_still_a_feed() -> None:
    parsed = parse_feed("https://news.example.com/feed", (DATA / "rss20.xml").read_bytes(),
                        {"content-type": "text/html; charset=utf-8"})
    assert len(parsed.entries) == 2


def test_junk_before_the_feed_is_tolerated() -> None:
    body = b"<b>Warning</b>: Undefined index in /var/www/feed.php on line 3<br />\n"
    body += (DATA / "rss20.xml").read_bytes()
    parsed = parse_feed("https://news.example.com/feed", body, {})
    assert [e.key for e in parsed.entries] == [
        "news-example-4711", "https://news.example.com/?p=4712"]


def test_same_feed_parsed_twice_is_identical() -> None:
    path = DATA / "atom10-xmlbase.xml"
    assert parse_file(path) == parse_file(path)


def test_result_pickles_for_the_process_pool() -> None:
    parsed = parse_file(DATA / "atom10-xmlbase.xml")
    assert pickle.loads(pickle.dumps(parsed)) == parsed
    assert pickle.loads(pickle.dumps(parse_feed)) is parse_feed


def test_parse_errors_survive_the_process_pool() -> None:
    for err in (ParseError("https://x.example/", "empty body"),
                NotAFeed("https://x.example/", "not a feed: got an HTML page", "https://x/f")):
        back = pickle.loads(pickle.dumps(err))
        assert (type(back), str(back), back.message) == (type(err), str(err), err.message)


# ---------------------------------------------------------------- HTML sanitising

DANGER = [
    "<script", "script>", "alert", "onerror", "onclick", "onload", "onmouseover", "javascript:",
    "vbscript:", "data:", "<iframe", "<style", "<object", "<embed", "<form", "<input", "<button",
    "<svg", "<meta", "<base", "<link", "style=", "formaction", "evil.example.com",
]


def test_nothing_dangerous_survives_the_hostile_feed() -> None:
    parsed = parse_file(DATA / "xss.xml")
    for s in every_string(parsed):
        for form in (s.lower(), html.unescape(s).lower()):
            for bad in DANGER:
                assert bad not in form, (bad, s)
    entry = parsed.entries[0]
    assert entry.link is None and entry.url is None  # a javascript: link is no link
    assert '<a href="mailto:tips@example.com" rel="noopener noreferrer nofollow">' in entry.content
    assert "<strong>text</strong>" in entry.content


@pytest.mark.parametrize(("dirty", "clean"), [
    ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
    ('<a href="&#106;avascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
    ('<a href="&#x6A;avascript&#x3A;alert(1)">x</a>',
     '<a rel="noopener noreferrer nofollow">x</a>'),
    ('<a href="jav&#x09;ascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
    ('<a href="  JAVASCRIPT:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>',
     '<a rel="noopener noreferrer nofollow">x</a>'),
    ('<img src="data:image/png;base64,AAAA">', "<img>"),
    ('<img src="x.png" onerror="alert(1)">', '<img src="https://site.example/a/x.png">'),
    ('<p onclick="alert(1)" style="color:red" class="c" id="i">t</p>', "<p>t</p>"),
    ("<script>alert(1)</script>after", "after"),
    ("<style>p{color:red}</style>after", "after"),
    ('<iframe src="https://evil.example/"></iframe>after', "after"),
    ('<object data="x.swf"><param name="a" value="b"></object>after', "after"),
    ('<embed src="x.swf">after', "after"),
    ('<svg onload="alert(1)"><a href="x">t</a></svg>after', "after"),
    ('<form action="https://evil.example/"><input name="pw">text</form>', "text"),
    ("<!-- <script>alert(1)</script> -->after", "after"),
    ('<a href="https://ok.example/" target="_blank" rel="opener">ok</a>',
     '<a href="https://ok.example/" rel="noopener noreferrer nofollow">ok</a>'),
    ('<a href="ftp://files.example/x">ftp</a>', '<a rel="noopener noreferrer nofollow">ftp</a>'),
    ('<a href="mailto:a@example.org">m</a>',
     '<a href="mailto:a@example.org" rel="noopener noreferrer nofollow">m</a>'),
    ('<a href="/about#team">rel</a>',
     '<a href="https://site.example/about#team" rel="noopener noreferrer nofollow">rel</a>'),
    ('<a href="//cdn.example/x">proto</a>',
     '<a href="https://cdn.example/x" rel="noopener noreferrer nofollow">proto</a>'),
    # nh3 checks schemes on href and src only, so cite is not allowed at all.
    ('<blockquote cite="javascript:alert(1)">q</blockquote>', "<blockquote>q</blockquote>"),
    ('<q cite="https://src.example/">q</q>', "<q>q</q>"),
    ("<h2>H</h2><ul><li>a</li></ul><pre><code>x &lt; y</code></pre>",
     "<h2>H</h2><ul><li>a</li></ul><pre><code>x &lt; y</code></pre>"),
    (('<figure><img src="https://i.example/p.jpg" alt="p" width="10" loading="lazy">'
      "<figcaption>c</figcaption></figure>"),
     ('<figure><img src="https://i.example/p.jpg" alt="p" width="10"><figcaption>c</figcaption>'
      "</figure>")),
    ('<table><tr><td colspan="2" bgcolor="red">c</td></tr></table>',
     '<table><tbody><tr><td colspan="2">c</td></tr></tbody></table>'),
    ("unclosed <b>bold", "unclosed <b>bold</b>"),
    ("Ctrl\x1b chars\x0b gone", "Ctrl chars gone"),
])
def test_sanitize_html(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty, base="https://site.example/a/feed") == clean


def test_sanitize_html_without_base_keeps_relative_links() -> None:
    assert sanitize_html('<a href="/x">x</a>') == (
        '<a href="/x" rel="noopener noreferrer nofollow">x</a>')


def test_sanitize_html_ignores_a_non_http_base() -> None:
    assert sanitize_html('<img src="x.png">', base="javascript:alert(1)//") == '<img src="x.png">'


# ---------------------------------------------------------------- text


@pytest.mark.parametrize(("markup", "text"), [
    ("AT&amp;T", "AT&T"),
    ("AT&T", "AT&T"),
    ("AT&amp;amp;T", "AT&amp;T"),  # decoded once, not twice
    ("<b>x</b>", "x"),
    ("Face<b>book</b>", "Facebook"),  # inline markup does not split words
    ("<p>Section 230</p><p>ruling</p>", "Section 230 ruling"),  # blocks do
    ("line<br>break<BR/>again", "line break again"),
    ("<ul><li>one</li><li>two</li></ul>", "one two"),
    ("<td>a</td><td>b</td>", "a b"),
    ("<script>var x = '<p>';</script>kept<style>p{}</style>", "kept"),
    ("<!-- comment -->text", "text"),
    ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
    ("&lt;b&gt; is a tag", "<b> is a tag"),
    ("&#8220;quoted&#8221; &mdash; &nbsp;spaced", "“quoted” — spaced"),
    ("  lots \n\t of   space  ", "lots of space"),
    ("esc\x1b and vt\x0b", "esc and vt"),
    ("&#27;ref&#x0b;", "ref"),
    ("", ""),
])
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


@pytest.mark.parametrize(("dirty", "clean"), [
    ("plain", "plain"),
    ("tab\tnewline\ncr\r", "tab\tnewline\ncr\r"),
    ("nul\x00 bell\x07 bs\x08 vt\x0b ff\x0c so\x0e esc\x1b us\x1f", "nul bell bs vt ff so esc us"),
    ("del\x7f c1\x85\x9b", "del c1"),
    ("surrogate\ud800 nonchar\ufffe\uffff", "surrogate nonchar"),
    ("e\u0301", "\u00e9"),  # NFC
    ("emoji 🙂 and 東京", "emoji 🙂 and 東京"),
])
def test_clean_text(dirty: str, clean: str) -> None:
    assert clean_text(dirty) == clean


def test_control_characters_never_survive_in_any_field() -> None:
    parsed = parse_file(DATA / "control-chars.xml")
    for s in every_string(parsed):
        assert not any(ord(c) < 32 and c not in "\t\n\r" for c in s), repr(s)
        assert "\x7f" not in s
    assert parsed.entries[0].title == "Verticaltab and esc and ref and dec"


# ---------------------------------------------------------------- XML security


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, str]:
    value = "S3CRET-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]
    path = tmp_path / "secret.txt"
    path.write_text(value + "\n")
    return path, value


def _xxe_bodies(uri: str) -> dict[str, bytes]:
    item = "<item><title>i &xxe;</title><link>https://x.example/1</link>" \
           "<description>d &xxe;</description></item>"
    rss = f'<rss version="2.0"><channel><title>t &xxe;</title>{item}</channel></rss>'
    doctype = f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{uri}">\n]>\n'
    bodies = {
        "general entity": '<?xml version="1.0"?>\n' + doctype + rss,
        "one line": f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{uri}">]>' + rss,
        "parameter entity": (f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY % ext SYSTEM '
                             f'"{uri}">\n%ext;\n<!ENTITY xxe "x">\n]>\n' + rss),
        "external DTD": f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{uri}">\n'
                        + rss.replace("&xxe;", ""),
        "entity in an attribute": '<?xml version="1.0"?>\n' + doctype
                                  + rss.replace('version="2.0"', 'version="2.0" a="&xxe;"'),
        "comment hides the DOCTYPE from naive scans": '<?xml version="1.0"?>\n<!-- <b> -->\n'
                                                      + doctype + rss,
    }
    out = {name: body.encode() for name, body in bodies.items()}
    out["UTF-16"] = codecs.BOM_UTF16_LE + bodies["general entity"].replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16-le")
    # "<!" written in UTF-7 base64: no "<!ENTITY" in the bytes, but feedparser decodes it.
    out["UTF-7"] = (b'<?xml version="1.0" encoding="utf-7"?>+ADwAIQ-DOCTYPE rss +AFsAPAAh-ENTITY '
                    b"xxe SYSTEM +ACI-" + uri.encode() + b"+ACIAPgBdAD4-" + rss.encode())
    return out


def _assert_no_leak(name: str, body: bytes, forbidden: str) -> None:
    started = time.perf_counter()
    try:
        parsed = parse_feed("https://x.example/feed", body, {"content-type": "application/xml"})
    except ParseError as e:
        assert forbidden not in str(e), name
    else:
        assert forbidden not in repr(parsed), name
        assert parsed.entries, name  # the feed itself still comes through
    assert time.perf_counter() - started < 2, name


def test_external_entities_never_read_files(secret: tuple[Path, str]) -> None:
    path, value = secret
    for name, body in _xxe_bodies(path.as_uri()).items():
        _assert_no_leak(name, body, value)


def test_external_entities_never_read_etc_passwd() -> None:
    bodies = {**_xxe_bodies("file:///etc/passwd"),
              "xxe-passwd.xml": (DATA / "xxe-passwd.xml").read_bytes()}
    for name, body in bodies.items():
        _assert_no_leak(name, body, "root:")


def test_external_entities_never_touch_the_network() -> None:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'<!ENTITY leak "LEAKED">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}/evil"
        for name, body in _xxe_bodies(uri).items():
            _assert_no_leak(name, body, "LEAKED")
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_entity_declarations_outside_a_valid_prolog_are_refused() -> None:
    # feedparser's loose fallback takes "<!ENTITY" from anywhere before the first tag and
    # expands it without limit; junk before the DOCTYPE hides it from an XML-prolog scan.
    body = (b"junk\n<!DOCTYPE rss [\n<!ENTITY a \"" + b"A" * 1000 + b"\">\n]>\n"
            b'<rss version="2.0"><channel><title>t</title><item><title>&a;</title></item>'
            b"</channel></rss>")
    with pytest.raises(ParseError, match="entities"):
        parse_feed("https://x.example/feed", body, {})


def test_harmless_doctype_without_internal_subset_is_kept() -> None:
    parsed = parse_file(DATA / "rss091.xml")  # the Netscape DOCTYPE, an external DTD
    assert len(parsed.entries) == 2


def test_feed_with_declared_html_entities_still_parses() -> None:
    body = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>\n'
            b'<rss version="2.0"><channel><title>A&nbsp;B</title><item><title>x&nbsp;y</title>'
            b"<link>https://x.example/1</link></item></channel></rss>")
    parsed = parse_feed("https://x.example/feed", body, {})
    assert parsed.source.title == "A B"
    assert [e.title for e in parsed.entries] == ["x y"]


# Entity bombs run in a child process with a memory cap and a CPU cap, so that a regression fails
# this test instead of taking the machine down. feedparser alone turns the quadratic one into
# gigabytes. The caps are limits, not timings: a loaded machine cannot make this test flaky.
_BOMB_RUNNER = textwrap.dedent("""
    import json, resource, sys
    cap = 768 * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
    except (ValueError, OSError):
        pass
    from curator.parse import parse_feed
    from curator.exceptions import ParseError
    body = sys.stdin.buffer.read()
    try:
        parsed = parse_feed("https://x.example/feed", body, {})
        fields = [parsed.source.title or ""] + [
            s for e in parsed.entries for s in (e.title, e.summary, e.content, e.text)]
        out = {"size": sum(map(len, fields)), "lols": sum(f.count("lol") for f in fields),
               "as": sum(f.count("A") for f in fields)}
    except ParseError as e:
        out = {"error": str(e)}
    print(json.dumps(out))
""")


def _billion_laughs() -> bytes:
    decls = ['<!ENTITY lol "lol">']
    decls += [f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">'
              for i in range(1, 10)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(decls) + "\n]>\n"
            '<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
            "<description>&lol9;&lol9;</description></item></channel></rss>").encode()


def _quadratic(well_formed: bool) -> bytes:
    value = "A" * 50_000
    tail = "</channel></rss>" if well_formed else "<item><title>unclosed</channel></rss>"
    return ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + value + '">\n]>\n'
            '<rss version="2.0"><channel><title>t</title><item><title>x</title><description>'
            + "&a;" * 50_000 + "</description></item>" + tail).encode()


@pytest.mark.parametrize("body", [
    pytest.param(_billion_laughs(), id="billion laughs"),
    pytest.param(_quadratic(True), id="quadratic blowup"),
    # expat's own amplification guard stops the first parse; feedparser then falls back to
    # its loose parser with the entity it judged "safe" and expands it 50,000 times.
    pytest.param(_quadratic(False), id="quadratic blowup via the loose fallback"),
    # The check runs on the decoded text: in UTF-16 there is no b"<!ENTITY" to find.
    pytest.param(codecs.BOM_UTF16_LE + _quadratic(False).decode().replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16-le"),
        id="quadratic blowup in UTF-16"),
])
def test_entity_bombs_are_never_expanded(body: bytes) -> None:
    run = subprocess.run([sys.executable, "-c", _BOMB_RUNNER], input=body, capture_output=True,
                         timeout=60, cwd=Path(__file__).parent.parent, check=False)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    out = json.loads(run.stdout)
    # Parsed, not failed: under the memory cap an expansion would surface as a MemoryError.
    assert "error" not in out, out
    # Unexpanded references come back as text ("&a;"), escaped in the HTML fields; one
    # expansion of the 50 kB entity per reference would be 2.5 GB.
    assert out["size"] < 5 * len(body)
    assert out["as"] <= 50_000
    assert out["lols"] < 100


def test_an_entry_carries_its_hash_and_dates_as_the_database_keeps_them() -> None:
    # Built in the parse worker, so the poll's main process (which writes) does not; the hash
    # must stay what earlier versions stored, or every stored entry would look changed.
    import hashlib
    import pickle
    from datetime import UTC, datetime

    from curator.polltypes import EntryData

    e = EntryData(key="k", url="https://example.com/a", link="https://example.com/a?x=1",
                  title="T", summary="<p>S</p>", content="", text="S", author="Jo",
                  published=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    expected = hashlib.sha256(b"T\0<p>S</p>\0\0https://example.com/a?x=1\0Jo\0"
                              b"2024-01-02T03:04:05Z\0").hexdigest()
    assert (e.hash, e.published_at, e.updated_at) == (expected, "2024-01-02T03:04:05Z", None)
    back = pickle.loads(pickle.dumps(e))  # as it comes back from a worker
    assert back == e and back.hash == expected
    assert dataclasses.replace(e, title="U").hash != expected
