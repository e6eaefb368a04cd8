"""The deployment files in contrib/ and the Dockerfile name real commands and pass their checkers."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CONTRIB = ROOT / "contrib"


def curator_invocations(text: str) -> list[list[str]]:
    """Every `curator ...` command line in a file, as argument lists after the program name."""
    found = []
    for line in text.splitlines():
        for m in re.finditer(r"(?:\.venv/bin/|\")?curator\"?(?:\",)?((?: [^&|;#>\n]*)?)", line):
            if line.lstrip().startswith("#"):
                continue
            args = [a.strip('",[]') for a in shlex.split(m.group(1).replace('", "', " "))]
            args = [a for a in args if a]
            if args:
                found.append(args)
    return found


def check_help(args: list[str]) -> None:
    # Drop the global options, keep the command path, and ask it for --help.
    words, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--log-format", "--config", "--host", "--port"):
            skip = True
            continue
        if a.startswith("-"):
            continue
        words.append(a)
    result = CliRunner().invoke(cli, [*words[:2], "--help"])
    if result.exit_code != 0:  # a positional argument, e.g. `backup backups/`
        result = CliRunner().invoke(cli, [*words[:1], "--help"])
    assert result.exit_code == 0, (args, result.output)


@pytest.mark.parametrize("name", ["curator.service", "curator-web.service", "crontab"])
def test_contrib_files_run_real_commands(name):
    calls = curator_invocations((CONTRIB / name).read_text())
    assert calls, name
    for args in calls:
        check_help(args)


def test_dockerfile_runs_curator_run_on_a_volume():
    text = (ROOT / "Dockerfile").read_text()
    assert 'VOLUME ["/data"]' in text and "CURATOR_CONFIG=/data/feeds.yaml" in text
    assert 'CMD ["curator", "--log-format", "json", "run"]' in text
    entry = (CONTRIB / "docker-entrypoint.sh")
    assert entry.stat().st_mode & 0o111, "the entrypoint must be executable"


def _installed_unit(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "root"
    (root / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    (root / "db").mkdir(exist_ok=True)
    (root / "public").mkdir(exist_ok=True)
    exe = root / ".venv" / "bin" / "curator"
    if not exe.exists():
        exe.symlink_to(Path(sys.executable).with_name("curator"))
    unit = tmp_path / name
    unit.write_text((CONTRIB / name).read_text().replace("/srv/curator", str(root)))
    return unit


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", ["curator.service", "curator-web.service"])
def test_systemd_units_verify(tmp_path, name):
    unit = _installed_unit(tmp_path, name)
    ok = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stderr.strip() == "", ok.stderr
    # The check can fail: a broken copy is reported.
    broken = tmp_path / ("broken-" + name)
    broken.write_text(unit.read_text().replace("Type=simple", "Type=sometimes"))
    bad = subprocess.run(["systemd-analyze", "verify", "--man=no", str(broken)],
                         capture_output=True, text=True)
    assert bad.returncode != 0 or "service type" in bad.stderr, bad.stderr


def _docker_engine() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine on this machine")
def test_docker_image_builds_and_runs_help():
    subprocess.run(["docker", "build", "-q", "-t", "curator-test", str(ROOT)], check=True,
                   timeout=900)
    out = subprocess.run(["docker", "run", "--rm", "curator-test", "curator", "--help"],
                         capture_output=True, text=True, check=True, timeout=120)
    assert "poll" in out.stdout


def test_a_regular_install_carries_the_desks_templates_and_static_files():
    """What pyproject ships as package data covers every file the desk serves (editable installs
    would hide a gap: they read the source tree)."""
    import fnmatch
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = meta["tool"]["setuptools"]["package-data"]["curator"]
    web = ROOT / "curator" / "web"
    files = [p.relative_to(ROOT / "curator").as_posix()
             for sub in ("templates", "static") for p in (web / sub).rglob("*") if p.is_file()]
    assert files
    missing = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert missing == []


def _compose() -> dict:
    import yaml

    return yaml.safe_load((CONTRIB / "docker-compose.yml").read_text())


def test_compose_runs_postgresql_two_pollers_and_the_desk_on_the_mounted_config():
    services = _compose()["services"]
    db = services["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in db["healthcheck"]["test"]
    mine = {name: s for name, s in services.items() if s.get("image", "").startswith("curator")}
    for name, s in mine.items():
        assert s["command"][0] == "curator", name
        check_help(s["command"][1:])
        env = s["environment"]
        # The config is mounted where CURATOR_CONFIG points; the password comes from .env.
        folder = env["CURATOR_CONFIG"].rsplit("/", 1)[0]
        assert any(v.split(":")[-1] == folder for v in s["volumes"]), name
        assert re.fullmatch(r"\$\{CURATOR_DB_PASSWORD:\?[^}]+\}", env["PGPASSWORD"]), name
    pollers = [n for n, s in mine.items() if s["command"][-1] in ("run", "poll")]
    desks = [n for n, s in mine.items() if "web" in s["command"]]
    assert len(pollers) >= 2 and len(desks) == 1
    # The schema is made once, before any poller or desk opens the database.
    assert mine["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in [*pollers, *desks]:
        assert mine[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}}, name
    # The desk is for a TLS proxy on the same host, not the open network.
    assert all(p.startswith("127.0.0.1:") for p in mine[desks[0]]["ports"])
    assert db["environment"]["POSTGRES_PASSWORD"] == mine["migrate"]["environment"]["PGPASSWORD"]
    assert "ports" not in db  # PostgreSQL is reached on the compose network only


@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine on this machine")
def test_compose_file_passes_docker_compose_config(tmp_path):
    env = {"CURATOR_DB_PASSWORD": "x" * 24, "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(["docker", "compose", "-f", str(CONTRIB / "docker-compose.yml"),
                         "config", "-q"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
