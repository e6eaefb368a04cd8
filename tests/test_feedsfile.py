"""feeds.yaml edits (OPML import, the desk's Sources and Topics) change only the lines they mean to."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import Cli

from curator.config import load
from curator.exceptions import ConfigError, UsageError
from curator.feedsfile import FeedsFile

SHIPPED = Path(__file__).resolve().parents[1] / "feeds.yaml"


def changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts."""
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm=""):
        if line.startswith(("---", "+++", "@@")):
            continue
        (removed if line.startswith("-") else added).append(line[1:])
    return removed, added


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.yaml"
    shutil.copy(SHIPPED, path)
    return path


def test_opml_import_into_the_shipped_file_adds_only_its_lines_and_says_what_it_skipped(
        shipped: Path, tmp_path: Path) -> None:
    before = shipped.read_text()
    known = yaml.safe_load(before)["sources"][3]["url"]
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Folder"><outline text="First: new" xmlUrl="https://one.example/feed"/>'
        '</outline><outline text="Second" xmlUrl="https://two.example/rss"/>'
        f'<outline text="Known" xmlUrl="{known}"/>'
        '<outline text="Again" xmlUrl="https://two.example/rss"/>'
        '<outline text="Gopher" xmlUrl="gopher://old.example/feed"/>'
        '<outline text="Local" xmlUrl="file:///etc/passwd"/></body></opml>')
    out = Cli(shipped)("opml", "import", str(opml)).stdout
    after = shipped.read_text()
    removed, added = changes(before, after)
    assert removed == []
    assert added == ["  - url: https://one.example/feed", "    name: 'First: new'",
                     "  - url: https://two.example/rss", "    name: Second"]
    assert "2 sources added" in out
    assert f"{known}: already in feeds.yaml" in out
    assert "https://two.example/rss: listed twice" in out
    assert "gopher://old.example/feed: only http and https" in out
    assert "file:///etc/passwd: only http and https" in out
    assert "4 skipped" in out
    # The new entries follow the last source, before the comment that opens the topics.
    assert [s.url for s in load(shipped).sources][-2:] == ["https://one.example/feed",
                                                           "https://two.example/rss"]


def test_rename_remove_and_topic_edits_touch_only_their_own_entries(shipped: Path) -> None:
    before = shipped.read_text()
    doc = yaml.safe_load(before)
    npr, wired = doc["sources"][3]["url"], doc["sources"][5]["url"]
    f = FeedsFile(shipped)
    f.rename_source(npr, "NPR Tech")
    f.remove_source(wired)
    f.put_topic("antitrust", title="Antitrust", any_terms=["antitrust", "FTC", "Sherman Act"],
                none_terms=["sponsored", "deals"])
    f.save()
    after = shipped.read_text()
    removed, added = changes(before, after)
    assert added == ["    name: NPR Tech", "    title: Antitrust", '      - Sherman Act',
                     "    none: [sponsored, deals]"]
    assert "    name: NPR — Technology" in removed and f"  - url: {wired}" in removed
    assert '      - "anticompetitive"' in removed
    assert '      - "monopol*"' in removed
    # Kept terms keep their quoting; the comments and the other topics are untouched.
    assert '      - FTC' in after and after.count("#") == before.count("#")
    config = load(shipped)
    assert {s.url: s.name for s in config.sources}[npr] == "NPR Tech"
    assert wired not in {s.url for s in config.sources}
    t = {t.name: t for t in config.topics}["antitrust"]
    assert (t.title, t.any, t.none) == ("Antitrust", ("antitrust", "FTC", "Sherman Act"),
                                        ("sponsored", "deals"))


def test_new_topic_and_removed_topic_and_a_file_indented_its_own_way(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    text = ("# mine\noutput: {title: t, link: 'https://e.org/', description: d}\n"
            "sources:\n- url: https://a.org/f   # the first\n  name: A\n- https://b.org/f\n"
            "# the topics follow\ntopics:\n- name: x\n  any: [a, b]\n\n- name: y\n  any: [c]\n")
    path.write_text(text)
    f = FeedsFile(path)
    f.rename_source("https://b.org/f", "Bee")
    f.add_source("https://c.org/f", "Sea")
    f.remove_topic("x")
    f.put_topic("z", title="Zed", any_terms=["one", "two words"], none_terms=["ad"], create=True)
    f.save()
    assert path.read_text() == (
        "# mine\noutput: {title: t, link: 'https://e.org/', description: d}\n"
        "sources:\n- url: https://a.org/f   # the first\n  name: A\n- url: https://b.org/f\n"
        "  name: Bee\n- url: https://c.org/f\n  name: Sea\n"
        "# the topics follow\ntopics:\n- name: y\n  any: [c]\n"
        "- name: z\n  title: Zed\n  any:\n  - one\n  - two words\n  none: [ad]\n")


def test_refusals_write_nothing(shipped: Path) -> None:
    before = shipped.read_text()
    f = FeedsFile(shipped)
    with pytest.raises(UsageError, match="already in feeds.yaml"):
        f.add_source(yaml.safe_load(before)["sources"][0]["url"])
    with pytest.raises(UsageError, match="already named"):
        f.add_source("https://new.example/feed", "wired")  # names are compared in any case
    with pytest.raises(UsageError, match="only http and https"):
        f.add_source("javascript:alert(1)")
    with pytest.raises(UsageError, match="a topic named 'antitrust' already exists"):
        f.put_topic("antitrust", title=None, any_terms=["x"], create=True)
    # A topic that would not load (a bad slug) is refused by the same check a hand edit gets.
    f.put_topic("Bad Name!", title=None, any_terms=["x"], create=True)
    with pytest.raises(ConfigError, match="must be a slug"):
        f.save()
    assert shipped.read_text() == before
    # A hand edit made meanwhile is never overwritten.
    g = FeedsFile(shipped)
    g.add_source("https://new.example/feed")
    shipped.write_text(before + "\n# edited by hand\n")
    with pytest.raises(UsageError, match="changed while"):
        g.save()
    assert shipped.read_text().endswith("# edited by hand\n")
    # A file that does not load is not edited at all.
    shipped.write_text("sources: [\n")
    with pytest.raises(ConfigError):
        FeedsFile(shipped)


def test_windows_line_endings_and_a_flow_style_output_section(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    text = ("output: {title: t, link: 'https://e.org/', description: d}\r\n"
            "sources:\r\n    - url: https://a.org/f\r\n      name: A\r\n"
            "topics:\r\n    - name: x\r\n      any: [a]\r\n")
    path.write_bytes(text.encode())
    f = FeedsFile(path)
    f.add_source("https://b.org/f", "B")
    f.save()
    assert path.read_bytes().decode() == text.replace(
        "topics:", "    - url: https://b.org/f\r\n      name: B\r\ntopics:")
