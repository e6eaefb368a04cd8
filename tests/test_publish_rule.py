"""The publish-skip rule and the unpublished-changes rule, as pure functions of PublishState."""

from __future__ import annotations

from curator.publish import (
    PublishState,
    _site_record,
    can_skip,
    current,
    stale_pages,
    unpublished,
)

LAST = PublishState(files="f1 f2 s", inputs="in", marker="3:1", output="out")


def test_a_publish_is_skipped_only_when_inputs_and_files_on_disk_are_what_it_left():
    assert can_skip(LAST, "in", ["f1", "f2", "s"])
    assert not can_skip(LAST, "in2", ["f1", "f2", "s"])  # a feature, a note, the channel changed
    assert not can_skip(LAST, "in", ["f1", "edited", "s"])  # someone edited a file
    assert not can_skip(LAST, "in", ["f1", None, "s"])  # a file is missing
    assert not can_skip(PublishState(), "in", [None, None, None])  # never published


def test_only_the_parts_that_changed_on_disk_are_rendered_again():
    assert current(LAST, "in", [None, "f2", "s"]) == [False, True, True]
    assert current(LAST, "in", ["f1", "f2", "site edited"]) == [True, True, False]
    # New inputs make every part out of date, whatever is on disk.
    assert current(LAST, "in2", ["f1", "f2", "s"]) == [False, False, False]
    # A publish from before the site was written left two digests: the site is rendered.
    older = PublishState(files="f1 f2", inputs="in")
    assert current(older, "in", ["f1", "f2", "s"]) == [True, True, False]


def test_unpublished_changes_are_a_missing_file_new_output_settings_or_a_new_marker():
    assert not unpublished(LAST, files_exist=True, marker="3:1", output="out")
    assert unpublished(LAST, files_exist=False, marker="3:1", output="out")
    assert unpublished(LAST, files_exist=True, marker="4:1", output="out")
    assert unpublished(LAST, files_exist=True, marker="3:1", output="out2")


def test_the_state_round_trips_through_the_state_tables_keys():
    values = LAST.as_state()
    assert set(values) == {"published_files", "published_inputs", "published_marker",
                           "published_output"}
    assert PublishState.of(values) == LAST
    assert PublishState.of({}) == PublishState()


def test_a_page_is_rendered_again_when_its_key_or_its_file_changed():
    last = {"index.html": ("k1", "d1"), "items/a.html": ("k2", "d2"), "gone.html": ("k3", "d3")}
    on_disk = {"index.html": "d1", "items/a.html": "d2", "gone.html": "d3"}
    assert stale_pages(last, {"index.html": "k1", "items/a.html": "k2"}, on_disk) == []
    # The item's note changed: its key did.
    assert stale_pages(last, {"index.html": "k1", "items/a.html": "new"}, on_disk) == [
        "items/a.html"]
    # Edited by hand or deleted: what is on disk is not what the last publish wrote.
    assert stale_pages(last, {"index.html": "k1", "items/a.html": "k2"},
                       {"index.html": "edited", "items/a.html": None}) == [
        "index.html", "items/a.html"]
    # A page the last publish did not write (a new item's) is rendered.
    assert stale_pages(last, {"items/b.html": "k4"}, on_disk) == ["items/b.html"]


def test_a_site_recorded_without_keys_is_rendered_again_whole():
    # A curator from before page keys recorded the paths alone.
    old = _site_record("index.html\nitems/a.html")
    assert old == {"index.html": ("", ""), "items/a.html": ("", "")}
    assert stale_pages(old, {"index.html": "k1", "items/a.html": "k2"},
                       {"index.html": "d1", "items/a.html": "d2"}) == ["index.html",
                                                                        "items/a.html"]
    assert _site_record("index.html\tk1\td1\n") == {"index.html": ("k1", "d1")}
    assert _site_record(None) == {}
