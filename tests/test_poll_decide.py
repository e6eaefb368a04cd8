"""poll.decide(): a source's outcome from its fetch result, its state and the time, without HTTP;
and the store turning each outcome into the source's columns (a real SQLite file)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from curator.poll import DAY, MAX_RETRY_AFTER, NO_ENTRIES, decide, held_back, next_due
from curator.polltypes import (
    Failed,
    Fetched,
    FetchError,
    NewBody,
    NotModified,
    Refreshed,
    SourceData,
    Unparsable,
)
from curator.store import Store
from curator.types import Source

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
URL = "https://feeds.example/a.xml"
SOURCE = Source(id=1, url=URL, url_in_use=URL, etag='"old"', last_modified="Mon, 01 Jan 2024",
                body_hash="h-old")


def fetched(**kw: object) -> Fetched:
    base = Fetched(url=URL, final_url=URL, permanent_url=None, status=200, content=b"<rss/>",
                   headers={}, etag='"new"', last_modified=None, max_age=None)
    return replace(base, **kw)  # type: ignore[arg-type]


def error(**kw: object) -> FetchError:
    return replace(FetchError(url=URL, permanent_url=None, status=500, message="HTTP 500"),
                   **kw)  # type: ignore[arg-type]


def not_modified(**kw: object) -> NotModified:
    base = NotModified(url=URL, permanent_url=None, status=304, etag='"old"',
                       last_modified=None, max_age=None)
    return replace(base, **kw)  # type: ignore[arg-type]


def run(result: object, source: Source = SOURCE, **kw: object) -> object:
    kw.setdefault("interval", 1800)
    kw.setdefault("roll", 0.0)
    return decide(source, result, NOW, **kw)  # type: ignore[arg-type]


def test_a_new_body_is_fetched_with_its_validators_and_the_feeds_interval_hint_as_a_floor():
    body = NewBody(SourceData(title="A", link="https://a.example/", interval_hint=7200), "h-new",
                   entries=3)
    out = run(fetched(max_age=60), body=body)
    assert out == Refreshed(how="fetched", polled_at=NOW, status=200, max_age=60,
                            next_due=NOW + timedelta(hours=2), validators=('"new"', None),
                            body=body)


def test_a_feed_listing_no_entries_is_fetched_with_a_warning_that_holds_while_unchanged():
    empty = run(fetched(), body=NewBody(SourceData(title="A", link=None), "h-empty"))
    assert isinstance(empty, Refreshed) and empty.warning == NO_ENTRIES
    warned = replace(SOURCE, error=NO_ENTRIES)
    assert run(not_modified(), warned).warning == NO_ENTRIES  # type: ignore[attr-defined]
    assert run(fetched(), warned).warning == NO_ENTRIES  # type: ignore[attr-defined]
    # A failing source's error goes with its failure once a poll succeeds.
    failing = replace(SOURCE, error="HTTP 500", failures=2)
    assert run(not_modified(), failing).warning is None  # type: ignore[attr-defined]


def test_a_304_keeps_the_stored_validators_when_it_repeats_neither():
    assert run(not_modified(etag=None)).validators is None  # type: ignore[attr-defined]
    out = run(not_modified())
    assert isinstance(out, Refreshed) and out.how == "not modified"
    assert out.validators == ('"old"', None)
    assert out.next_due == NOW + timedelta(seconds=1800)


def test_the_same_bytes_again_count_as_unchanged_and_store_what_the_server_sent():
    out = run(fetched(etag=None))
    assert isinstance(out, Refreshed) and out.how == "unchanged body" and out.body is None
    assert out.validators == (None, None)


def test_max_age_and_hints_are_a_floor_capped_at_a_day_and_the_roll_spreads_up_to_10_percent():
    assert run(not_modified(max_age=10 * DAY)).next_due == NOW + timedelta(days=1)  # type: ignore[attr-defined]
    assert run(not_modified(max_age=60)).next_due == NOW + timedelta(minutes=30)  # type: ignore[attr-defined]
    assert next_due(1000, NOW, 0.999) == NOW + timedelta(seconds=1099)


def test_failures_back_off_doubling_capped_at_a_day_and_keep_when_they_started():
    since = NOW - timedelta(hours=5)
    delays = []
    source = SOURCE
    for _ in range(8):
        out = run(error(), source)
        assert isinstance(out, Failed)
        delays.append((out.next_due - NOW).total_seconds())
        source = replace(source, failures=out.failures, failing_since=since)
    assert delays[:4] == [1800, 3600, 7200, 14400]
    assert max(delays) == DAY
    assert out.failing_since == since and out.failures == 8
    first = run(error())
    assert isinstance(first, Failed) and first.failing_since == NOW and first.failures == 1
    assert first.retry_after is None and first.disabled is None and first.status == 500


def test_retry_after_holds_the_next_poll_back_and_is_capped_at_a_week():
    out = run(error(status=429, retry_after=NOW + timedelta(hours=5)))
    assert isinstance(out, Failed)
    assert out.retry_after == out.next_due == NOW + timedelta(hours=5)
    huge = run(error(status=503, retry_after=NOW + timedelta(days=365)))
    assert isinstance(huge, Failed)
    assert huge.retry_after == NOW + timedelta(seconds=MAX_RETRY_AFTER) == huge.next_due


def test_gone_disables_the_source_saying_how_to_try_again():
    out = run(error(status=410, message="gone (HTTP 410 Gone)", gone=True))
    assert isinstance(out, Failed)
    assert out.disabled == ("gone (HTTP 410 Gone) (since 2026-11-26T12:00:00Z); "
                            "run `curator enable` to try again")


@pytest.mark.parametrize("result", [fetched(permanent_url="https://new.example/feed"),
                                    not_modified(permanent_url="https://new.example/feed"),
                                    error(permanent_url="https://new.example/feed")])
def test_a_permanent_move_is_carried_by_every_outcome(result):
    body = NewBody(SourceData(title=None, link=None), "h") if isinstance(result, Fetched) else None
    assert run(result, body=body).moved_to == "https://new.example/feed"  # type: ignore[attr-defined]


def test_a_body_the_parser_refused_is_a_failure_with_the_http_status():
    out = run(fetched(), body=Unparsable("not a feed"))
    assert isinstance(out, Failed) and out.message == "not a feed" and out.status == 200


def test_held_back_by_disable_and_retry_after_always_and_by_schedule_only_when_asked():
    later = NOW + timedelta(minutes=1)
    assert held_back(replace(SOURCE, disabled="gone"), NOW, schedule=False)
    assert held_back(replace(SOURCE, retry_after=later), NOW, schedule=False)
    assert not held_back(replace(SOURCE, next_due=later), NOW, schedule=False)
    assert held_back(replace(SOURCE, next_due=later), NOW, schedule=True)
    assert not held_back(replace(SOURCE, next_due=NOW), NOW, schedule=True)


def _stored(store: Store) -> Source:
    return store.sources()[0]


def test_the_store_turns_each_outcome_into_the_sources_columns(tmp_path):
    store = Store(tmp_path / "c.db")
    store.sync_sources([(URL, None, None)], NOW)
    sid = store.sources()[0].id
    store.update_source(sid, title="Kept title", etag='"e1"', last_modified="lm1")

    store.record_poll(sid, run(error(status=429, retry_after=NOW + timedelta(hours=1),
                                     permanent_url="https://new.example/feed")))
    s = _stored(store)
    assert (s.failures, s.error, s.status, s.failing_since) == (1, "HTTP 500", 429, NOW)
    assert s.retry_after == NOW + timedelta(hours=1) and s.url_in_use == "https://new.example/feed"
    assert s.last_ok is None and s.etag == '"e1"'

    store.record_poll(sid, run(not_modified(etag=None), s))
    s = _stored(store)
    assert (s.failures, s.error, s.failing_since, s.retry_after) == (0, None, None, None)
    assert (s.etag, s.last_modified, s.last_ok, s.status) == ('"e1"', "lm1", NOW, 304)

    body = NewBody(SourceData(title=None, link="https://a.example/", interval_hint=3600), "h2")
    store.save_entries(sid, [], [], NOW, run(fetched(), s, body=body))
    s = _stored(store)
    assert (s.title, s.link, s.interval_hint, s.body_hash) == (
        "Kept title", "https://a.example/", 3600, "h2")
    assert (s.etag, s.last_modified) == ('"new"', None)

    store.record_poll(sid, run(error(status=410, gone=True, message="gone"), s))
    assert _stored(store).disabled.startswith("gone (since ")  # type: ignore[union-attr]
    store.close()
