"""`curator topics test`: figures, misses and false hits; bad files; the shipped topics' floors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, Cli

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "feeds.yaml"

TOPICS = [
    {"name": "kids", "any": ["age verification", "children"], "all": [["online", "app*"]]},
    {"name": "courts", "any": ["subpoena*", "warrant"]},
]


def write(tmp_path: Path, text: str, name: str = "examples.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_counts_misses_and_false_hits_overall_and_per_topic(tmp_path, make_cli):
    cli = make_cli([], TOPICS)
    examples = write(tmp_path, "\n".join([
        "# a comment, then a blank line",
        "",
        "kids\tAge verification law passes\tSites and apps must check users.",
        "kids\tChildren's apps collect data\tA study of 100 apps.",  # `all` group: app*
        "kids\tChildren at risk\tNothing about the net.",  # miss: no online/app
        "1\tPolice subpoena chat logs\t",  # on the beat, any topic: courts finds it
        "courts\tChildren online get a warrant\tOdd, but it matches both topics.",
        "-\tThe warrant officer's memoir\tNot the beat.",  # false hit for courts
        "0\tA quiet day\tNothing matches.",
    ]) + "\n")
    doc = cli("topics", "test", str(examples), "--json")
    assert set(doc) == {"precision", "recall", "tp", "fp", "fn", "topics", "misses", "false_hits"}
    assert (doc["tp"], doc["fp"], doc["fn"]) == (4, 1, 1)
    assert doc["precision"] == 0.8 and doc["recall"] == 0.8
    assert doc["misses"] == ["Children at risk"]
    assert doc["false_hits"] == ["The warrant officer's memoir"]
    kids = doc["topics"]["kids"]
    # "Children online get a warrant" is labelled courts: kids matching it counts neither way.
    assert (kids["tp"], kids["fp"], kids["fn"]) == (2, 0, 1)
    assert kids["precision"] == 1.0 and kids["recall"] == pytest.approx(2 / 3, abs=1e-4)
    courts = doc["topics"]["courts"]
    assert (courts["tp"], courts["fp"], courts["fn"]) == (2, 1, 0)
    assert courts["recall"] == 1.0

    text = cli("topics", "test", str(examples)).stdout
    assert "miss       line 5: Children at risk" in text
    assert "false hit  line 8: The warrant officer's memoir  [courts: warrant]" in text
    assert "all topics" in text and "0.80" in text


def test_recall_is_unknown_for_a_topic_no_line_names(tmp_path, make_cli):
    cli = make_cli([], TOPICS)
    examples = write(tmp_path, "1\tAge verification for apps\t\n-\tNothing\t\n")
    doc = cli("topics", "test", str(examples), "--json")
    assert doc["topics"]["kids"]["recall"] is None and doc["topics"]["kids"]["tp"] == 1
    assert doc["recall"] == 1.0 and doc["precision"] == 1.0
    # No line matched at all: precision has no value rather than a made-up one.
    empty = write(tmp_path, "1\tNothing here\t\n", "none.tsv")
    doc = cli("topics", "test", str(empty), "--json")
    assert doc["precision"] is None and doc["recall"] == 0.0


@pytest.mark.parametrize(("text", "message"), [
    ("1\tfine\t\nkids only one field\n", "line 2: expected label<TAB>title<TAB>summary"),
    ("1\tfine\t\n1\ta\tb\tc\n", "line 2: expected label<TAB>title<TAB>summary, found 4"),
    ("\n\nsports\tA title\tsummary\n", "line 3: label 'sports' is not 1, 0, -"),
    ("1\t  \tno title\n", "line 1: the title is empty"),
])
def test_a_bad_line_is_named_and_exits_2(tmp_path, make_cli, text, message):
    cli = make_cli([], TOPICS)
    path = write(tmp_path, text)
    result = cli("topics", "test", str(path), code=2)
    assert message in result.stderr and str(path) in result.stderr
    assert result.stdout == ""


def test_a_file_that_is_not_utf8_exits_2(tmp_path, make_cli):
    cli = make_cli([], TOPICS)
    path = tmp_path / "latin1.tsv"
    path.write_bytes("1\tCaf\xe9 age verification\t\n".encode("latin-1"))
    assert "not UTF-8" in cli("topics", "test", str(path), code=2).stderr


def test_reads_standard_input_and_needs_no_database(tmp_path, make_cli):
    cli = make_cli([], TOPICS)
    doc = cli("topics", "test", "-", "--json", input="1\tA subpoena\t\n")
    assert doc["tp"] == 1
    assert not (tmp_path / "db").exists()


def shipped(path: Path) -> dict:
    cli = Cli(SHIPPED)
    return cli("topics", "test", str(path), "--json")


def test_shipped_topics_on_the_tuning_set():
    doc = shipped(DATA / "topics" / "labeled.tsv")
    assert doc["tp"] + doc["fn"] >= 100 and doc["tp"] + doc["fp"] > 0
    assert doc["precision"] >= 0.95, doc["false_hits"]
    assert doc["recall"] >= 0.95, doc["misses"]


def test_shipped_topics_on_headlines_never_used_to_tune_them():
    doc = shipped(DATA / "topics" / "heldout.tsv")
    assert doc["precision"] >= 0.85, doc["false_hits"]
    assert doc["recall"] >= 0.85, doc["misses"]


@pytest.mark.parametrize(("name", "size"), [("labeled.tsv", 250), ("heldout.tsv", 100)])
def test_the_labelled_sets_are_big_enough_and_about_forty_percent_on_the_beat(name, size):
    lines = [line for line in (DATA / "topics" / name).read_text().splitlines()
             if line and not line.startswith("#")]
    on = sum(1 for line in lines if line.split("\t")[0] != "-")
    assert len(lines) >= size
    assert 0.35 <= on / len(lines) <= 0.5
    titles = [line.split("\t")[1] for line in lines]
    assert len(set(titles)) == len(titles)


def test_no_held_out_headline_is_in_the_tuning_set():
    def titles(name: str) -> set[str]:
        return {line.split("\t")[1].casefold() for line in
                (DATA / "topics" / name).read_text().splitlines()
                if line and not line.startswith("#")}
    assert not titles("labeled.tsv") & titles("heldout.tsv")


def test_the_command_runs_as_a_process_on_the_shipped_file():
    out = subprocess.run([sys.executable, "-m", "curator", "--config", str(SHIPPED), "topics",
                          "test", str(DATA / "topics" / "labeled.tsv")],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert "all topics" in out.stdout
