"""Canonical article URLs: one spelling per article, so the sources carrying it meet as one."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Click, campaign and analytics identifiers that never select content, compared lower-cased.
# Taken from the lists that browsers and URL cleaners maintain, keeping only names that are
# tracking everywhere (rules tied to one site, and generic names such as "ref", "source", "src",
# "from" or "id", which choose the page on some sites, are left out):
#  - ClearURLs' global rules (github.com/ClearURLs/Rules, data.min.json, provider globalRules);
#  - Firefox's query-stripping list (Enhanced Tracking Protection, "query-stripping" records);
#  - AdGuard's TrackParamFilter (github.com/AdguardTeam/AdguardFilters, general_url.txt);
#  - names found in real feeds' links: BBC (at_medium, at_campaign), Deutsche Welle (maca),
#    Yahoo, Engadget and TechCrunch (guccounter, guce_referrer, ncid), MSN (ocid).
# No maintained Python package carries such a list for offline use: see README, "Entries".
TRACKING_PARAMS = frozenset({
    # the spec's list (utm_* is handled as a prefix)
    "fbclid", "gclid", "mc_cid", "mc_eid",
    # ad-click ids
    "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ysclid", "twclid", "ttclid", "li_fat_id",
    "igshid", "srsltid", "gclsrc", "gad_source", "s_kwcid", "ef_id", "epik", "rb_clickid",
    # analytics and mail-campaign ids passed in the URL
    "_ga", "_gl", "mkt_tok", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "__s",
    "hsctatracking", "oly_anon_id", "oly_enc_id", "vero_conv", "vero_id", "s_cid", "wickedid",
    "mc_tc", "ml_subscriber", "ml_subscriber_hash", "_openstat", "os_ehash", "wtrid", "wt_mc",
    "wt_zmc", "cmpid", "xtor", "spm", "echobox", "__twitter_impression", "tracking_source",
    "traffic_source",
    "fb_action_ids", "fb_action_types", "fb_ref", "fb_source", "action_object_map",
    "action_type_map", "action_ref_map",
    "hmb_campaign", "hmb_medium", "hmb_source",
    "pk_campaign", "pk_kwd", "pk_keyword", "pk_source", "pk_medium", "pk_content", "pk_cid",
    # AT Internet / Piano Analytics campaign tags (the BBC's feeds carry at_medium=RSS)
    "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
    "at_bbc_team", "at_link", "at_link_id", "at_link_origin", "at_link_type", "at_ptr_name",
    "at_send_date", "at_emailtype", "at_creation",
    # news sites' feed and referral codes
    "maca", "guccounter", "guce_referrer", "guce_referrer_sig", "ncid", "ocid",
})
# Whole families, by prefix: Google Analytics (utm_), Matomo (mtm_), HubSpot ads (hsa_),
# internal campaign tags (itm_, otm_).
_TRACKING_PREFIXES = ("utm_", "mtm_", "hsa_", "itm_", "otm_")

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What may stay literal in a path or query: unreserved, sub-delims, ":" "@" "/" "?" (RFC 3986).
# "%" is handled separately, as the start of an escape.
_LITERAL = _UNRESERVED | frozenset("!$&'()*+,;=:@/?")
_ESCAPE_OR_CHAR = re.compile(r"%([0-9A-Fa-f]{2})|(.)", re.DOTALL)
# A line break and the indentation around it come from a wrapped link, not from the URL.
_TAB_NEWLINE = re.compile(r"[ \t]*[\r\n][\r\n \t]*|\t")
_ABSOLUTE_HTTP = re.compile(r"https?://", re.IGNORECASE)
_HOST_CHARS = re.compile(r"[a-z0-9._~%!$&'()*+,;=-]+")


def _encode_char(ch: str) -> str:
    if ch in _LITERAL:
        return ch
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def _normalize_escapes(part: str) -> str:
    """Upper-case escapes, decode escaped unreserved characters, escape what may not appear raw."""

    def fix(m: re.Match[str]) -> str:
        hexpair = m.group(1)
        if hexpair is not None:
            ch = chr(int(hexpair, 16))
            # Decoding is only equivalent for unreserved characters (RFC 3986 6.2.2.2);
            # an escaped "/" or "&" means something else than the raw one.
            return ch if ch in _UNRESERVED else "%" + hexpair.upper()
        return _encode_char(m.group(2))

    if part.isascii() and "%" not in part and all(c in _LITERAL for c in part):
        return part  # the common case, without a regex pass
    return _ESCAPE_OR_CHAR.sub(fix, part)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: browsers never send "." or ".." segments, so neither should we store them."""
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _host(hostname: str) -> str | None:
    if ":" in hostname:  # IPv6 literal; urlsplit removed the brackets
        return f"[{hostname}]"
    if not hostname.isascii():
        try:
            hostname = hostname.encode("idna").decode("ascii")
        except UnicodeError:  # empty or over-long label, disallowed character
            return None
    # A space, quote or angle bracket here means a broken link, not a host.
    return hostname if _HOST_CHARS.fullmatch(hostname) else None


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(_TRACKING_PREFIXES) or lowered in TRACKING_PARAMS


def canonicalize(url: str | None, base: str | None = None) -> str | None:
    """Return the canonical http(s) form of url resolved against base, or None if it has none."""
    if url is None:
        return None
    # Browsers drop tabs and newlines anywhere in a URL.
    url = _TAB_NEWLINE.sub("", url).strip()
    if not url:
        return None
    if base and not _ABSOLUTE_HTTP.match(url):  # urljoin returns those unchanged, slowly
        url = urljoin(_TAB_NEWLINE.sub("", base).strip(), url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # bad port, unbalanced IPv6 brackets
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = _host(parts.hostname)  # lower-cased by urlsplit; user:password@ is dropped
    if not host:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"

    path = _remove_dot_segments(_normalize_escapes(parts.path)) or "/"
    pairs = []
    for pair in parts.query.split("&"):
        if not pair:
            continue
        pair = _normalize_escapes(pair)
        if not _is_tracking(pair.split("=", 1)[0]):
            pairs.append(pair)
    return urlunsplit((scheme, netloc, path, "&".join(pairs), ""))


def article_url(url: str) -> str:
    """An article URL as the editor gave it, in the canonical form candidates are stored under."""
    return canonicalize(url.strip()) or url.strip()
