"""WebSub: tell the hub which feeds changed, so subscribers' readers fetch them at once.

A publish that changed a feed POSTs `hub.mode=publish&hub.url=SELF_URL` (form-encoded) to the hub
named by `output.websub_hub`, once per changed feed. A hub that fails (an error status, a refused
connection, a timeout) never fails the publish: the feed stays pending and is pinged again at the
next publish, whether or not that one changes anything.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

__all__ = ["ping", "notify"]

_log = logging.getLogger(__name__)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without the body: a hub that moved is a
    # failure to log, not a ping silently lost.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def ping(hub: str, url: str, *, timeout: float, user_agent: str) -> str | None:
    """POST one publish ping; None when the hub took it (2xx), else why not, in a few words."""
    body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode()
    request = urllib.request.Request(hub, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "User-Agent": user_agent})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            status = response.status
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        return str(reason) or type(e).__name__
    return None if 200 <= status < 300 else f"HTTP {status}"


def notify(hub: str, urls: Iterable[str], *, timeout: float, user_agent: str) -> list[str]:
    """Ping the hub for each feed URL (each once, in order); the URLs it did not take."""
    failed: list[str] = []
    for url in dict.fromkeys(urls):
        why = ping(hub, url, timeout=timeout, user_agent=user_agent)
        if why is not None:
            _log.warning("WebSub hub %s did not take %s (%s); it is pinged again at the next "
                         "publish", hub, url, why)
            failed.append(url)
    return failed
