"""urls.canonicalize: a table row per rule, with cases that show it and cases that limit it."""

from __future__ import annotations

import pytest

from curator.urls import canonicalize

FEED = "https://Example.COM/blog/feed.xml"

CASES: list[tuple[str, str | None, str | None, str | None]] = [
    # (rule, url, base, expected)
    ("None in, None out", None, None, None),
    ("empty", "", None, None),
    ("only whitespace", "  \t\n ", FEED, None),
    ("already canonical", "https://example.com/a/b?x=1", None, "https://example.com/a/b?x=1"),
    # resolution against xml:base / the feed URL
    ("relative path", "post/1.html", FEED, "https://example.com/blog/post/1.html"),
    ("root-relative", "/post/1", FEED, "https://example.com/post/1"),
    ("dot-dot relative", "../about", FEED, "https://example.com/about"),
    ("scheme-relative", "//cdn.example.net/x", FEED, "https://cdn.example.net/x"),
    ("query-only relative", "?p=42", FEED, "https://example.com/blog/feed.xml?p=42"),
    ("absolute ignores base", "http://other.org/x", FEED, "http://other.org/x"),
    ("relative without base", "/post/1", None, None),
    ("scheme-relative without base", "//cdn.example.net/x", None, None),
    # only http and https
    ("mailto", "mailto:a@example.com", FEED, None),
    ("javascript", "javascript:alert(1)", FEED, None),
    ("javascript with spaces and case", "  JavaScript:alert(1)", FEED, None),
    ("data", "data:text/html,<b>x</b>", FEED, None),
    ("ftp", "ftp://example.com/file", None, None),
    ("file", "file:///etc/passwd", None, None),
    ("relative against a non-http base", "x", "ftp://example.com/", None),
    ("no host", "http:///path", None, None),
    # case
    ("scheme lower-cased", "HTTPS://example.com/", None, "https://example.com/"),
    ("host lower-cased", "https://WWW.Example.COM/", None, "https://www.example.com/"),
    ("path case kept", "https://example.com/About/Us", None, "https://example.com/About/Us"),
    ("query case kept", "https://example.com/?Q=Abc", None, "https://example.com/?Q=Abc"),
    # IDN
    ("IDN host to punycode", "https://Bücher.example/ü", None,
     "https://xn--bcher-kva.example/%C3%BC"),
    ("punycode host kept", "https://xn--bcher-kva.example/", None,
     "https://xn--bcher-kva.example/"),
    ("invalid IDN label", "https://a..bü/", None, None),
    ("space in host", "https://exa mple.com/", None, None),
    # ports
    ("http default port", "http://example.com:80/a", None, "http://example.com/a"),
    ("https default port", "https://example.com:443/a", None, "https://example.com/a"),
    ("443 on http is not default", "http://example.com:443/a", None, "http://example.com:443/a"),
    ("80 on https is not default", "https://example.com:80/a", None, "https://example.com:80/a"),
    ("other port kept", "https://example.com:8443/a", None, "https://example.com:8443/a"),
    ("bad port", "https://example.com:99999/a", None, None),
    ("non-numeric port", "https://example.com:http/a", None, None),
    ("IPv6 literal", "http://[2001:DB8::1]:80/x", None, "http://[2001:db8::1]/x"),
    ("IPv6 literal with port", "http://[::1]:8080/", None, "http://[::1]:8080/"),
    # user info
    ("credentials dropped", "https://user:pw@example.com/a", None, "https://example.com/a"),
    # fragment
    ("fragment dropped", "https://example.com/a#section-2", None, "https://example.com/a"),
    ("empty fragment dropped", "https://example.com/a#", None, "https://example.com/a"),
    ("fragment-only relative", "#top", FEED, "https://example.com/blog/feed.xml"),
    # tracking parameters
    ("utm_* removed", "https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x", None,
     "https://example.com/a"),
    ("utm_* any case", "https://example.com/a?UTM_Source=rss&Utm_Content=b", None,
     "https://example.com/a"),
    ("utm_ prefix written escaped", "https://example.com/a?utm%5Fsource=rss", None,
     "https://example.com/a"),
    ("fbclid", "https://example.com/a?fbclid=IwAR0abc", None, "https://example.com/a"),
    ("gclid", "https://example.com/a?gclid=EAIaIQ", None, "https://example.com/a"),
    ("mc_cid and mc_eid", "https://example.com/a?mc_cid=1a&mc_eid=2b", None,
     "https://example.com/a"),
    ("_ga", "https://example.com/a?_ga=2.1234", None, "https://example.com/a"),
    ("igshid", "https://example.com/a?igshid=abc", None, "https://example.com/a"),
    ("mkt_tok", "https://example.com/a?mkt_tok=abc", None, "https://example.com/a"),
    ("msclkid", "https://example.com/a?msclkid=abc", None, "https://example.com/a"),
    ("tracking param without value", "https://example.com/a?fbclid", None, "https://example.com/a"),
    ("other params kept in order", "https://example.com/a?z=1&utm_source=x&a=2&fbclid=y&m=3",
     None, "https://example.com/a?z=1&a=2&m=3"),
    ("repeated params kept", "https://example.com/a?t=1&t=2", None,
     "https://example.com/a?t=1&t=2"),
    ("look-alike names kept", "https://example.com/a?utm=1&xutm_source=2&gclid_x=3", None,
     "https://example.com/a?utm=1&xutm_source=2&gclid_x=3"),
    ("generic names kept", "https://example.com/a?ref=home&source=rss&id=7", None,
     "https://example.com/a?ref=home&source=rss&id=7"),
    ("empty query dropped", "https://example.com/a?", None, "https://example.com/a"),
    ("empty pairs dropped", "https://example.com/a?&x=1&&y=2&", None,
     "https://example.com/a?x=1&y=2"),
    ("tracking removed after resolution", "/a?utm_source=rss&p=1", FEED,
     "https://example.com/a?p=1"),
    # empty path
    ("empty path", "https://example.com", None, "https://example.com/"),
    ("empty path with query", "https://example.com?p=1", None, "https://example.com/?p=1"),
    # whitespace
    ("surrounding whitespace", "  https://example.com/a \n", None, "https://example.com/a"),
    ("newline inside (wrapped link)", "https://example.com/long/\n   path", None,
     "https://example.com/long/path"),
    ("inner space escaped", "https://example.com/a b", None, "https://example.com/a%20b"),
    ("whitespace around base", "x", "  https://example.com/dir/ \n", "https://example.com/dir/x"),
    # percent-encoding
    ("escapes upper-cased", "https://example.com/a%2fb?q=%e2%82%ac", None,
     "https://example.com/a%2Fb?q=%E2%82%AC"),
    ("escaped unreserved decoded", "https://example.com/%7Euser/%41b%2D", None,
     "https://example.com/~user/Ab-"),
    ("escaped reserved kept", "https://example.com/a%2Fb?x=%26y%3D1", None,
     "https://example.com/a%2Fb?x=%26y%3D1"),
    ("non-ASCII path escaped as UTF-8", "https://example.com/café", None,
     "https://example.com/caf%C3%A9"),
    ("non-ASCII query escaped as UTF-8", "https://example.com/?q=€", None,
     "https://example.com/?q=%E2%82%AC"),
    ("lone percent escaped", "https://example.com/100%?d=5%", None,
     "https://example.com/100%25?d=5%25"),
    ("plus kept as is", "https://example.com/?q=a+b", None, "https://example.com/?q=a+b"),
    ("unsafe characters escaped", 'https://example.com/a"<b>{c}', None,
     "https://example.com/a%22%3Cb%3E%7Bc%7D"),
    # dot segments
    ("dot segments removed", "https://example.com/a/./b/../c", None, "https://example.com/a/c"),
    ("dot-dot above root", "https://example.com/../../a", None, "https://example.com/a"),
    ("trailing dot-dot", "https://example.com/a/b/..", None, "https://example.com/a/"),
    ("escaped dots are dots", "https://example.com/a/%2e%2E/b", None, "https://example.com/b"),
    ("dots in names kept", "https://example.com/v1.2/a..b/.well-known", None,
     "https://example.com/v1.2/a..b/.well-known"),
    ("trailing slash kept", "https://example.com/a/", None, "https://example.com/a/"),
]


@pytest.mark.parametrize(("rule", "url", "base", "expected"), CASES, ids=[c[0] for c in CASES])
def test_canonicalize(rule: str, url: str | None, base: str | None, expected: str | None) -> None:
    assert canonicalize(url, base) == expected


@pytest.mark.parametrize("url", [c[3] for c in CASES if c[3] is not None])
def test_canonical_form_is_a_fixed_point(url: str) -> None:
    assert canonicalize(url) == url


def test_same_article_from_two_sources_meets() -> None:
    a = canonicalize("HTTPS://www.Example.com:443/news/story?utm_source=feed#comments")
    b = canonicalize("/news/story?fbclid=xyz", base="https://www.example.com/rss")
    assert a == b == "https://www.example.com/news/story"


@pytest.mark.parametrize(("url", "expected"), [
    # Seen in real feeds' links: the BBC, Deutsche Welle, Yahoo/Engadget, MSN.
    ("https://www.bbc.co.uk/news/articles/c1?at_medium=RSS&at_campaign=rss",
     "https://www.bbc.co.uk/news/articles/c1"),
    ("https://www.dw.com/en/story/a-7?maca=en-rss-en-all-1573-rdf", "https://www.dw.com/en/story/a-7"),
    ("https://news.example.com/a?traffic_source=rss&page=2", "https://news.example.com/a?page=2"),
    ("https://techcrunch.com/2026/a/?guccounter=1&guce_referrer=aHR0", "https://techcrunch.com/2026/a/"),
    ("https://e.example/a?ncid=rss&ocid=msn&xtor=RSS-1", "https://e.example/a"),
    # Families by prefix: Matomo, HubSpot ads, internal campaign tags.
    ("https://e.example/a?mtm_campaign=x&hsa_acc=1&itm_source=y&b=1", "https://e.example/a?b=1"),
    # Generic names that choose the page on some sites stay.
    ("https://e.example/a?ref=main&source=2&src=x&from=3&id=4",
     "https://e.example/a?ref=main&source=2&src=x&from=3&id=4"),
])
def test_tracking_parameters_real_feeds_use(url: str, expected: str) -> None:
    assert canonicalize(url) == expected
