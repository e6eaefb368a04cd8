"""feeds.yaml: defaults, paths, and errors that name the key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator import config
from curator.exceptions import ConfigError

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """\
output:
  title: Watch
  link: https://example.org/watch/
  description: A beat
sources:
  - url: https://example.org/feed.xml
"""


def parse(text: str, where: Path = Path("/srv/curator/feeds.yaml")) -> config.Config:
    return config.parse(text, where)


def test_defaults_and_relative_paths():
    c = parse(MINIMAL)
    assert c.database == Path("/srv/curator/db/curator.db")
    assert c.output.rss == Path("/srv/curator/public/feed.xml")
    assert c.output.atom == Path("/srv/curator/public/atom.xml")
    assert c.output.max_items == 50
    assert c.output.author_name == "Watch" and c.output.author_email is None
    assert c.output.rss_url == "https://example.org/watch/feed.xml"
    assert c.output.atom_url == "https://example.org/watch/atom.xml"
    assert c.poll.interval == 1800 and c.poll.timeout == 20 and c.poll.max_bytes == 10_000_000
    assert c.poll.user_agent.startswith("curator/") and "https://example.org/watch/" in c.poll.user_agent
    assert c.sources[0].url == "https://example.org/feed.xml" and c.sources[0].name is None
    assert c.topics == () and c.retention is None


def test_full_example_from_the_spec():
    c = parse(MINIMAL.replace("sources:", """\
  author: {name: The Editors, email: editors@example.org}
  rss: out/rss.xml
  atom: out/atom.xml
  max_items: 20
database: data/x.db
retention: 90d
poll:
  interval: 15m
  timeout: 90s
  max_bytes: 512KB
  user_agent: "curator/test (+https://example.org/about)"
  block_private_addresses: true
topics:
  - name: platform-accountability
    title: Platform accountability
    any: ["Section 230", trafficking, "subpoena*"]
    all: []
    none: [sponsored]
sources:"""))
    assert c.database == Path("/srv/curator/data/x.db")
    assert c.output.rss == Path("/srv/curator/out/rss.xml") and c.output.max_items == 20
    assert c.output.author_email == "editors@example.org"
    assert (c.poll.interval, c.poll.timeout, c.poll.max_bytes) == (900, 90, 512_000)
    assert c.poll.block_private_addresses is True
    assert c.retention == 90 * 86400
    t = c.topics[0]
    assert (t.name, t.title, t.any, t.none) == ("platform-accountability",
                                               "Platform accountability",
                                               ("Section 230", "trafficking", "subpoena*"),
                                               ("sponsored",))


@pytest.mark.parametrize("durations", [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)])
def test_durations(durations):
    text, seconds = durations
    c = parse(MINIMAL + f"    interval: {text}\n")
    assert c.sources[0].interval == seconds


@pytest.mark.parametrize("snippet, key, line, words", [
    ("colour: red\n", "colour", 7, "unknown key"),
    ("poll:\n  intreval: 5m\n", "poll.intreval", 8, "unknown key"),
    ("poll:\n  interval: 5 minutes\n", "poll.interval", 8, "bad duration"),
    ("poll:\n  timeout: 0s\n", "poll.timeout", 8, "bad duration"),
    ("poll:\n  max_bytes: lots\n", "poll.max_bytes", 8, "bad size"),
    ("topics:\n  - name: x\n    any: []\n", "topics[0].any", 9, "no terms"),
    ("topics:\n  - name: x\n", "topics[0]", 8, "no terms"),
    ("topics:\n  - name: Not A Slug\n    any: [a]\n", "topics[0].name", 8, "slug"),
    ("topics:\n  - name: x\n    any: [a]\n  - name: x\n    any: [b]\n", "topics[1].name", 10,
     "duplicate topic"),
    ("topics:\n  - name: x\n    any: [a]\n    sometimes: [b]\n", "topics[0].sometimes", 10,
     "unknown key"),
    ("topics:\n  - name: x\n    any: [a]\n    all: [b, []]\n", "topics[0].all[1]", 10,
     "must not be empty"),
    ("topics:\n  - name: x\n    any: [a]\n    all: [[b, '*']]\n", "topics[0].all[0][1]", 10,
     "at least one letter"),
    ("  - url: https://example.org/feed.xml\n", "sources[1]", 7, "duplicate source"),
    ("  - url: not a url\n", "sources[1].url", 7, "bad URL"),
    ("  - url: file:///etc/passwd\n", "sources[1].url", 7, "bad URL"),
    ("  - url: https://example.org/b\n    interval: soon\n", "sources[1].interval", 8,
     "bad duration"),
    # Explicit tags are built by PyYAML, whose constructors raise all sorts on bad input.
    ("  - url: !foo https://example.org/b\n", "sources[1].url", 7, "cannot read this value"),
    ("poll:\n  concurrency: !!int many\n", "poll.concurrency", 8, "cannot read this value"),
    ("poll:\n  block_private_addresses: !!bool maybe\n", "poll.block_private_addresses", 8,
     "cannot read this value"),
    ("retention: !!timestamp soon\n", "retention", 7, "cannot read this value"),
    ("retention: !!python/object:os.system x\n", "retention", 7, "cannot read this value"),
])
def test_errors_name_key_and_line(snippet, key, line, words):
    with pytest.raises(ConfigError) as err:
        parse(MINIMAL + snippet)
    message = str(err.value)
    assert err.value.key == key, message
    assert err.value.line == line, message
    assert words in message and key in message
    assert err.value.exit_code == 2


def test_an_all_item_may_be_a_group_of_alternatives():
    c = parse(MINIMAL + "topics:\n  - name: x\n    any: [regulator]\n"
              "    all: [[fine, fined], TikTok]\n")
    assert c.topics[0].all == (("fine", "fined"), "TikTok")


def test_missing_required_output_keys():
    with pytest.raises(ConfigError) as err:
        parse("output:\n  title: T\n  link: https://e.org/\nsources: []\n")
    assert err.value.key == "output.description"


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse("output: [unclosed\n")
    assert "not valid YAML" in str(err.value) and err.value.line
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.yaml")


def test_env_var_names_the_default(monkeypatch, tmp_path):
    path = tmp_path / "elsewhere.yaml"
    path.write_text(MINIMAL)
    monkeypatch.setenv("CURATOR_CONFIG", str(path))
    assert config.load().path == path
    monkeypatch.delenv("CURATOR_CONFIG")
    assert config.default_path() == Path("feeds.yaml")


def test_the_shipped_feeds_yaml_is_a_real_starting_point():
    c = config.load(ROOT / "feeds.yaml")
    assert len(c.sources) >= 20
    assert len(c.topics) >= 4
    names = {t.name for t in c.topics}
    assert {"platform-accountability", "child-safety", "surveillance", "antitrust"} <= names
    for t in c.topics:
        assert len(t.any) >= 8, t.name
    hosts = " ".join(s.url for s in c.sources)
    for must in ("theguardian.com", "theverge.com", "eff.org", "techdirt.com", "arstechnica",
                 "wired.com", "propublica.org", "themarkup.org", "restofworld.org", "404media",
                 "lawfaremedia.org", "bbc"):
        assert must in hosts, must


@pytest.mark.parametrize("url", [
    "https://example.org/feed.xml", "http://example.org", "HTTP://Example.org/feed",
    "https://example.org:8443/f?x=1#y", "http://[::1]:8080/feed", "https://bücher.example/feed",
])
def test_source_urls_that_are_accepted(url: str) -> None:
    assert parse(MINIMAL.replace("https://example.org/feed.xml", url)).sources[0].url == url


@pytest.mark.parametrize("url", [
    "ftp://example.org/feed", "https:///feed", "http://exa mple.org/", "http://example.org:99999/",
    "example.org/feed", "http://example.org:x/",
])
def test_source_urls_that_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="bad URL") as e:
        parse(MINIMAL.replace("https://example.org/feed.xml", url))
    assert e.value.key == "sources[0].url" and e.value.line == 6


# ------------------------------------------------------------------ the parsed-config cache


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A feeds.yaml and a private cache folder for it."""
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "feeds.yaml"
    path.write_text(MINIMAL)
    return path


def _no_parse(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = config.parse

    def counting(text: str, path: Path) -> config.Config:
        calls.append(str(path))
        return real(text, path)

    monkeypatch.setattr(config, "parse", counting)
    return calls


def test_a_loaded_config_is_served_from_the_cache_until_the_file_changes(
        cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = config.load(cached)
    files = list((cached.parent / "cache").iterdir())
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    assert (cached.parent / "cache").stat().st_mode & 0o777 == 0o700
    calls = _no_parse(monkeypatch)
    assert config.load(cached) == first and calls == []
    # An edit of the same length inside the same second is still an edit.
    cached.write_text(MINIMAL.replace("title: Watch", "title: Wotch"))
    assert config.load(cached).output.title == "Wotch" and len(calls) == 1
    assert config.load(cached).output.title == "Wotch" and len(calls) == 1


def test_the_cache_gives_back_the_path_it_was_asked_for(
        cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cached.parent)
    assert config.load("feeds.yaml").path == Path("feeds.yaml")
    calls = _no_parse(monkeypatch)
    again = config.load(cached)
    assert calls == [] and again.path == cached
    assert again.database == cached.parent / "db" / "curator.db"


def test_a_file_that_no_longer_validates_is_never_served_from_the_cache(cached: Path) -> None:
    config.load(cached)
    cached.write_text(MINIMAL.replace("title: Watch", "title: [Watch"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(cached)
    cached.write_text(MINIMAL.replace("sources:", "bogus: 1\nsources:"))
    with pytest.raises(ConfigError, match="unknown key"):
        config.load(cached)


def test_a_new_curator_version_does_not_use_an_older_cache(
        cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from curator import configcache

    config.load(cached)
    calls = _no_parse(monkeypatch)
    monkeypatch.setattr(configcache, "__version__", "99.0")
    config.load(cached)
    assert len(calls) == 1


@pytest.mark.parametrize("damage", ["garbage", "truncated", "group-writable", "symlink"])
def test_a_damaged_or_untrusted_cache_file_is_a_miss(
        cached: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    good = config.load(cached)
    (file,) = (cached.parent / "cache").iterdir()
    if damage == "garbage":
        file.write_bytes(b"\x80\x05not a pickle at all")
    elif damage == "truncated":
        file.write_bytes(file.read_bytes()[:40])
    elif damage == "group-writable":
        file.chmod(0o620)
    else:
        target = cached.parent / "elsewhere.pickle"
        file.rename(target)
        file.symlink_to(target)
    calls = _no_parse(monkeypatch)
    assert config.load(cached) == good and len(calls) == 1


def test_the_cache_can_be_turned_off_or_be_unwritable(
        cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_CACHE_DIR", "off")
    calls = _no_parse(monkeypatch)
    config.load(cached)
    config.load(cached)
    assert len(calls) == 2 and not (cached.parent / "cache").exists()
    blocker = cached.parent / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(blocker / "cache"))
    assert config.load(cached).output.title == "Watch" and len(calls) == 3


def test_the_cache_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from curator import configcache

    monkeypatch.delenv("CURATOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert configcache.cache_dir() == tmp_path / "xdg" / "curator"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert configcache.cache_dir() == tmp_path / ".cache" / "curator"


def test_a_command_on_a_cached_config_does_not_load_yaml(cached: Path) -> None:
    import subprocess
    import sys

    run = [sys.executable, "-X", "importtime", "-m", "curator", "--config", str(cached),
           "candidates", "--json"]
    first = subprocess.run(run, capture_output=True, text=True, check=True)
    assert " yaml\n" in first.stderr and first.stdout.strip() == "[]"
    second = subprocess.run(run, capture_output=True, text=True, check=True)
    assert " yaml\n" not in second.stderr and second.stdout.strip() == "[]"
