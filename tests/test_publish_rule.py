"""The publish-skip rule and the unpublished-changes rule, as pure functions of PublishState."""

from __future__ import annotations

from curator.publish import PublishState, can_skip, unpublished

LAST = PublishState(files="f1 f2", inputs="in", marker="3:1", output="out")


def test_a_publish_is_skipped_only_when_inputs_and_files_on_disk_are_what_it_left():
    assert can_skip(LAST, "in", "f1 f2")
    assert not can_skip(LAST, "in2", "f1 f2")  # a feature, a note, the channel changed
    assert not can_skip(LAST, "in", "f1 edited")  # someone edited a file
    assert not can_skip(LAST, "in", None)  # a file is missing
    assert not can_skip(PublishState(), "in", None)  # never published


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
