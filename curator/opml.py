"""OPML 2.0 in and out: the subscription lists every feed reader exchanges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .exceptions import UsageError


@dataclass(frozen=True)
class Outline:
    url: str
    title: str | None = None
    site: str | None = None


def export_opml(title: str, outlines: Sequence[Outline], created: datetime) -> bytes:
    """An OPML 2.0 document listing the sources."""
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = title
    SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = SubElement(root, "body")
    for o in outlines:
        attrs = {"type": "rss", "text": o.title or o.url, "xmlUrl": o.url}
        if o.title:
            attrs["title"] = o.title
        if o.site:
            attrs["htmlUrl"] = o.site
        SubElement(body, "outline", attrs)
    body_xml: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body_xml + b"\n"


def parse_opml(data: bytes, where: str) -> list[Outline]:
    """Every outline with an xmlUrl, in document order, nested folders included.

    Nothing is dropped here: the caller says which URLs it skips and why.
    """
    try:
        # defusedxml refuses DTD entities and external references: an OPML file is input too.
        root = SafeET.fromstring(data, forbid_dtd=False)
    except (SafeET.ParseError, DefusedXmlException) as e:
        raise UsageError(f"{where}: not a usable OPML file: {e}") from e
    if root.tag != "opml":
        raise UsageError(f"{where}: not an OPML file (root element <{root.tag}>)")
    out: list[Outline] = []
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if not url:
            continue  # a folder, or a plain outline
        title = (node.get("title") or node.get("text") or "").strip() or None
        out.append(Outline(url=url, title=title, site=(node.get("htmlUrl") or "").strip() or None))
    return out
