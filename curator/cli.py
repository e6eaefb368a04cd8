"""The `curator` command: a few lines per command, all work done by Curator."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from . import __version__, console
from .cli_common import (
    Ctx,
    _date,
    _progress,
    _short,
    emit_json,
    pass_ctx,
)
from .clock import read_iso
from .console import (
    DEFAULT_LIMIT,
    LOG_FORMATS,
    SORTS,
    STATUSES,
    editor_name,
    log_level,
    publish_line,
    setup_logging,
)
from .console import count as _count
from .documents import (
    article_entry_json,
    candidate_json,
    candidate_score,
    editor_json,
    entry_json,
    review_json,
    source_json,
    suggestion_reason,
)
from .exceptions import CuratorError, UsageError

log = logging.getLogger("curator")


# ------------------------------------------------------------------ the group


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CuratorError as e:
            click.echo(f"curator: error: {e}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH",
              help="feeds.yaml to use (default: $CURATOR_CONFIG, else ./feeds.yaml).")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text",
              show_default=True, help="Log lines on stderr as text or JSON.")
@click.option("-q", "--quiet", is_flag=True,
              help="Log only warnings and errors; poll and publish print no summary (for cron).")
@click.option("-v", "--verbose", is_flag=True, help="Log debugging detail too.")
@click.version_option(__version__, prog_name="curator")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_format: str, quiet: bool,
        verbose: bool) -> None:
    """curator: poll news feeds, review what matches your topics, publish RSS and Atom.

    \b
    A day's work:
      curator poll                 fetch the sources that are due
      curator candidates           what matched your topics
      curator feature 12 --note "Why it matters…"
      curator publish              write the RSS and Atom files
    """
    setup_logging(log_format, log_level(quiet, verbose))
    ctx.obj = Ctx(config_path, quiet)
    ctx.call_on_close(ctx.obj.close)


# ------------------------------------------------------------------ poll


@cli.command(epilog="\b\nExamples:\n  curator poll\n  curator poll --all --json\n"
             "  curator poll --source Techdirt")
@click.option("--all", "force", is_flag=True,
              help="Ignore the schedule and back-off (never a Retry-After or a disabled source).")
@click.option("--source", "only", multiple=True, metavar="URL_OR_NAME",
              help="Poll only this source, now (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_ctx
def poll(c: Ctx, force: bool, only: tuple[str, ...], as_json: bool) -> None:
    """Fetch the sources that are due, store their entries and match topics."""
    interactive = not as_json and sys.stderr.isatty()
    console.poll(c.curator(), force=force, only=only, as_json=as_json, quiet=c.quiet,
                 progress=lambda: _progress(interactive))


# ------------------------------------------------------------------ review


@cli.command(epilog="\b\nExamples:\n  curator candidates\n"
             "  curator candidates --topic child-safety --limit 20\n"
             "  curator candidates --status featured --json\n"
             "  curator candidates --sort score      # the likeliest to be featured first")
@click.option("--topic", metavar="NAME", help="Only candidates matching this topic.")
@click.option("--status", type=click.Choice(STATUSES), default=STATUSES[0], show_default=True)
@click.option("--sort", type=click.Choice(SORTS), default=SORTS[0], show_default=True,
              help="Newest first, or by score: what the editors are likeliest to feature first.")
@click.option("--limit", type=click.IntRange(min=1), default=DEFAULT_LIMIT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of candidate objects.")
@pass_ctx
def candidates(c: Ctx, topic: str | None, status: str, sort: str, limit: int,
               as_json: bool) -> None:
    """List candidates, newest first (or best score first)."""
    rows = c.curator().candidates(status=status, topic=topic, limit=limit, sort=sort)
    if as_json:
        emit_json([candidate_json(r) for r in rows])
        return
    if not rows:
        click.echo(f"no {status if status != 'all' else ''} candidates".replace("  ", " "),
                   err=True)
    for r in rows:
        flag = {"featured": "★", "rejected": "✗"}.get(r.status, " ")
        topics = "suggested" if r.suggested else ", ".join(r.topics)
        click.echo(f"{r.id:>6} {flag} {candidate_score(r):4.2f} "
                   f"{_date(r.published or r.first_seen):21}  "
                   f"{_short(r.source_name, 24):24}  {_short(r.title, 80)}  [{topics}]")


@cli.command(epilog="\b\nExamples:\n  curator show 42\n  curator show 42 --json")
@click.argument("candidate_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show(c: Ctx, candidate_id: int, as_json: bool) -> None:
    """Show one candidate with its summary and every source that carried it."""
    r = c.curator().candidate(candidate_id)
    summary = r.text or ""
    if as_json:
        doc = candidate_json(r)
        doc["summary"] = summary
        doc["entries"] = ([entry_json(e) for e in r.entries]
                          + [article_entry_json(a) for a in r.also])
        doc["history"] = [review_json(h) for h in r.history]
        emit_json(doc)
        return
    click.echo(f"#{r.id}  {r.title}")
    click.echo(f"  {r.url}")
    click.echo(f"  status: {r.status}   topics: {', '.join(r.topics) or '-'}   "
               f"published: {_date(r.published) or '-'}   score: {candidate_score(r):.2f}")
    why = suggestion_reason(r)
    if why:
        click.echo(f"  suggested: {why}")
    click.echo("  sources:")
    for e in r.entries:
        click.echo(f"    - {e.source}  ({_date(e.first_seen)})")
    if r.also:
        click.echo("  also covered by:")
        for a in r.also:
            click.echo(f"    - {a.source}: {a.title}")
            click.echo(f"      {a.url}")
    if summary:
        click.echo("")
        click.echo(click.wrap_text(_short(summary, 1200), 78, initial_indent="  ",
                                   subsequent_indent="  "))
    if r.note:
        click.echo("\n  note:")
        click.echo(click.wrap_text(r.note, 78, initial_indent="    ",
                                   subsequent_indent="    ", preserve_paragraphs=True))
    if r.history:
        click.echo("\n  history:")
        for h in r.history:
            click.echo(f"    {_date(h.at)}  {h.action:<9} by {h.editor}")


@cli.command(epilog="\b\nExamples:\n"
             "  curator feature 42 --note 'Why this matters: …'\n"
             "  curator feature 42 --note-file note.md\n"
             "  $EDITOR note.md && curator feature 42 --note-file - < note.md\n"
             "  curator feature 42 --link https://www.bbc.co.uk/news/articles/x  # another outlet")
@click.argument("candidate_id", metavar="ID", type=int)
@click.option("--note", metavar="TEXT", help="The commentary, in Markdown.")
@click.option("--note-file", metavar="PATH_OR_-", type=click.File("r", encoding="utf-8"),
              help="Read the commentary from a file, or - for standard input.")
@click.option("--link", metavar="URL",
              help="Link this one of the story's articles (see `curator show ID`).")
@pass_ctx
def feature(c: Ctx, candidate_id: int, note: str | None, note_file: Any,
            link: str | None) -> None:
    """Feature a candidate with a commentary in Markdown; run again to edit the note."""
    if note is not None and note_file is not None:
        raise UsageError("give --note or --note-file, not both")
    if note_file is not None:
        note = note_file.read()
    r = c.curator().feature(candidate_id, note, editor=editor_name(), link=link)
    click.echo(f"featured #{r.id}: {r.title}")


@cli.command(epilog="\b\nExample:\n  curator split 42 https://www.theverge.com/2026/3/2/other-story")
@click.argument("candidate_id", metavar="ID", type=int)
@click.argument("url", metavar="URL")
@pass_ctx
def split(c: Ctx, candidate_id: int, url: str) -> None:
    """Take one of a story's other articles out of it: a candidate of its own."""
    r = c.curator().split(candidate_id, url, editor=editor_name())
    click.echo(f"split #{r.id} from #{candidate_id}: {r.title}")


@cli.command(epilog="\b\nExample:\n  curator merge 42 57   # 57's articles join story 42")
@click.argument("candidate_id", metavar="ID", type=int)
@click.argument("other_id", metavar="OTHER_ID", type=int)
@pass_ctx
def merge(c: Ctx, candidate_id: int, other_id: int) -> None:
    """Join two candidates that report one story; the first keeps its status and note."""
    r = c.curator().merge(candidate_id, other_id, editor=editor_name())
    click.echo(f"merged #{other_id} into #{r.id}: {r.title}")


@cli.command(epilog="\b\nExample:\n  curator reject 42")
@click.argument("candidate_id", metavar="ID", type=int)
@pass_ctx
def reject(c: Ctx, candidate_id: int) -> None:
    """Reject a candidate (and unfeature it)."""
    r = c.curator().reject(candidate_id, editor=editor_name())
    click.echo(f"rejected #{r.id}: {r.title}")


@cli.command(epilog="\b\nExample:\n  curator reset 42")
@click.argument("candidate_id", metavar="ID", type=int)
@pass_ctx
def reset(c: Ctx, candidate_id: int) -> None:
    """Put a candidate back to new (unfeatures it; its note is kept as a draft)."""
    r = c.curator().reset(candidate_id, editor=editor_name())
    click.echo(f"reset #{r.id}: {r.title}")


# ------------------------------------------------------------------ publish, run


@cli.command(epilog="\b\nExamples:\n  curator publish\n  curator publish --json")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def publish(c: Ctx, as_json: bool) -> None:
    """Write the outgoing RSS 2.0 and Atom 1.0 feeds."""
    result = c.curator().publish(editor=editor_name())
    if as_json:
        emit_json(result)
    elif not c.quiet:
        click.echo(publish_line(result))


@cli.command(epilog="\b\nExample:\n  curator run            # under systemd, or in a terminal;"
             " Ctrl-C stops it cleanly")
@pass_ctx
def run(c: Ctx) -> None:
    """Run the scheduler: poll each source when due, publish when something featured changed."""
    from .schedule import run_forever

    run_forever(c.curator())


# ------------------------------------------------------------------ sources


@cli.command(epilog="\b\nExamples:\n  curator sources\n  curator sources --json")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def sources(c: Ctx, as_json: bool) -> None:
    """Show every source's health: status, last success, failures, error, next poll."""
    rows = c.curator().sources()
    if as_json:
        emit_json([source_json(r) for r in rows])
        return
    for r in rows:
        if r.disabled:
            state = "DISABLED"
        elif r.failures:
            state = f"FAILING×{r.failures}" + (" for a week+" if r.stale else "")
        elif r.last_ok and r.error:
            state = "WARNING"  # fetched and parsed, but see the error line (no entries)
        elif r.last_ok:
            state = "ok"
        else:
            state = "not polled yet"
        click.echo(f"{_short(r.display_name, 40):40}  {state}")
        click.echo(f"    {r.url_in_use}" + (f"   (feeds.yaml: {r.url})"
                                                 if r.url_in_use != r.url else ""))
        click.echo(f"    last status {r.status or '-'}, last ok {_date(r.last_ok) or 'never'},"
                   f" next due {_date(r.next_due) or '-'}")
        if r.disabled:
            click.echo(f"    disabled: {r.disabled}")
        elif r.error:
            # A fetched source's error is a warning about what it fetched ("no entries found").
            click.echo(f"    {'error' if r.failures else 'warning'}: {r.error}")


@cli.command(epilog="\b\nExample:\n  curator enable https://example.org/feed.xml")
@click.argument("url_or_name")
@pass_ctx
def enable(c: Ctx, url_or_name: str) -> None:
    """Re-enable a disabled source and clear its back-off."""
    r = c.curator().enable(url_or_name, editor=editor_name())
    name = r.source.name or r.source.title or r.source.url
    if r.cleared == "disabled":
        click.echo(f"enabled {name}; it will be polled next time")
    elif r.cleared == "back-off":
        click.echo(f"{name} was not disabled; cleared its back-off after "
                   f"{_count(r.cleared_failures, 'failure')}: it will be polled next time")
    else:
        click.echo(f"{name} was not disabled and has no back-off: nothing to do")


@cli.command(epilog="\b\nExamples:\n  curator rematch --dry-run   # what edited topics would change\n"
             "  curator rematch --json      # after editing topics in feeds.yaml")
@click.option("--dry-run", is_flag=True,
              help="Say what would be added, dropped and re-topicked; change nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def rematch(c: Ctx, dry_run: bool, as_json: bool) -> None:
    """Apply the current topics to every stored entry."""
    result = c.curator().rematch(dry_run=dry_run)
    if as_json:
        emit_json(result)
        return
    if not dry_run:
        click.echo(f"{_count(result['entries'], 'entry', 'entries')} matched again: "
                   f"{_count(result['new_candidates'], 'new candidate')}, {result['dropped']} "
                   "dropped")
        return
    click.echo(f"{_count(result['entries'], 'entry', 'entries')} matched (dry run, nothing "
               "changed): "
               f"{result['new_candidates']} would become candidates, {result['dropped']} would "
               f"be dropped, {len(result['changed'])} would change topics")
    for a in result["add"]:
        click.echo(f"  + {_short(a['title'], 70)}  [{', '.join(a['topics'])}]  {a['url']}")
    for d in result["drop"]:
        click.echo(f"  - #{d['id']} {_short(d['title'], 70)}  [{', '.join(d['topics'])}]")
    for ch in result["changed"]:
        click.echo(f"  ~ #{ch['id']} {_short(ch['title'], 60)}  [{', '.join(ch['before'])}]"
                   f" -> [{', '.join(ch['after'])}]")


@cli.command(epilog="\b\nQuery: words must all be found (stems count: fine finds fined);\n"
             "\"a phrase\"; prefix*; a OR b; -word leaves out.\n\n"
             "\b\nExamples:\n  curator search 'doorbell police'\n"
             "  curator search '\"age verification\" -porn' --limit 5 --json")
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@pass_ctx
def search(c: Ctx, query: str, limit: int, as_json: bool) -> None:
    """Full-text search over every stored entry, best match first."""
    from .documents import search_json

    rows = c.curator().search(query, limit=limit)
    if as_json:
        emit_json([search_json(r) for r in rows])
        return
    if not rows:
        click.echo("no entries match", err=True)
        return
    for r in rows:
        where = f"candidate {r['candidate']} ({r['status']})" if r["candidate"] else "not a candidate"
        published = _date(read_iso(r["published"]))
        click.echo(f"{r['entry']:>7}  {published:16}  {_short(r['source'], 20):20}  "
                   f"{_short(r['title'], 60)}  [{where}]")


@cli.command(epilog="\b\nExamples:\n  curator search 'doorbell police'   # find the entry's number\n"
             "  curator promote 1234 --json")
@click.argument("entry_id", metavar="ENTRY", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the candidate object.")
@pass_ctx
def promote(c: Ctx, entry_id: int, as_json: bool) -> None:
    """Make a stored entry a candidate, though no topic matched it."""
    row = c.curator().promote(entry_id, editor=editor_name())
    if as_json:
        emit_json(candidate_json(row))
    else:
        click.echo(f"candidate {row.id} ({row.status}): {row.title}")


@cli.command(epilog="\b\nExamples:\n  curator add https://www.propublica.org/article/some-story\n"
             "  curator add https://example.com/news/x --note 'Why it matters: …' --json")
@click.argument("url", metavar="URL")
@click.option("--note", metavar="TEXT", help="Also feature it, with this commentary (Markdown).")
@click.option("--json", "as_json", is_flag=True, help="Print the candidate object.")
@pass_ctx
def add(c: Ctx, url: str, note: str | None, as_json: bool) -> None:
    """Add an article by its URL as a candidate: its page's title, summary and site name."""
    row = c.curator().add_article(url, note=note, editor=editor_name())
    if as_json:
        emit_json(candidate_json(row))
    else:
        click.echo(f"candidate {row.id} ({row.status}): {row.title}")


@cli.group(epilog="\b\nExamples:\n  curator topics test tests/data/topics/labeled.tsv\n"
           "  curator topics test examples.tsv --json")
def topics() -> None:
    """Tools for tuning the topics in feeds.yaml."""


def _pct(value: float | None) -> str:
    return "   -" if value is None else f"{value:4.2f}"


@topics.command("test", epilog="\b\nFILE has one example a line: label<TAB>title<TAB>summary, the\n"
                "label 1 (on the beat), 0 or - (off it), or the name of the topic that should\n"
                "find it. Blank lines and lines starting with # are skipped.\n\n"
                "\b\nExamples:\n  curator topics test tests/data/topics/labeled.tsv\n"
                "  curator topics test examples.tsv --json | jq .recall")
@click.argument("file", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@pass_ctx
def topics_test(c: Ctx, file: Any, as_json: bool) -> None:
    """Precision and recall of the topics on labelled headlines, with misses and false hits."""
    from .topictest import evaluate, read_examples

    where = getattr(file, "name", "-")
    where = "<stdin>" if where in ("-", "<stdin>") else str(where)
    try:
        text = file.read().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"{where}: not UTF-8 text (byte {e.start})") from e
    from .config import load

    config = load(c.config_path)
    examples = read_examples(text, where, [t.name for t in config.topics])
    result = evaluate(examples, config.topics)
    if as_json:
        emit_json({k: result[k] for k in ("precision", "recall", "tp", "fp", "fn", "topics",
                                          "misses", "false_hits")})
        return
    click.echo(f"{'topic':<28} {'prec':>5} {'recall':>6} {'tp':>4} {'fp':>4} {'fn':>4}")
    for name, r in result["topics"].items():
        click.echo(f"{_short(name, 28):<28} {_pct(r['precision']):>5} {_pct(r['recall']):>6} "
                   f"{r['tp']:>4} {r['fp']:>4} {r['fn']:>4}")
    click.echo(f"{'all topics':<28} {_pct(result['precision']):>5} {_pct(result['recall']):>6} "
               f"{result['tp']:>4} {result['fp']:>4} {result['fn']:>4}"
               f"   ({result['lines']} examples)")
    for w in result["wrong"]:
        if w["positive"]:
            click.echo(f"miss       line {w['line']}: {w['title']}")
    for w in result["wrong"]:
        if not w["positive"]:
            why = "; ".join(f"{name}: {', '.join(terms)}" for name, terms in w["terms"].items())
            click.echo(f"false hit  line {w['line']}: {w['title']}  [{why}]")


# ------------------------------------------------------------------ backups, moving work


@cli.command(epilog="\b\nExamples:\n  curator backup backups/            # backups/curator-<time>.db\n"
             "  curator backup /mnt/safe/curator.db")
@click.argument("path", type=click.Path(dir_okay=True, file_okay=True))
@pass_ctx
def backup(c: Ctx, path: str) -> None:
    """Copy the database with SQLite's online backup (safe while curator runs)."""
    target = c.curator().backup(path)
    click.echo(f"backed up to {target}")


@cli.command(epilog="\b\nExample:\n  curator restore backups/curator-20261128T070000.123Z.db")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def restore(c: Ctx, path: str) -> None:
    """Replace the database with a backup (the current one is kept beside it first)."""
    kept = c.curator().restore(path)
    click.echo(f"restored {path}; the previous database is kept at {kept}")


@cli.command("copy-db", epilog="\b\nExamples:\n"
             "  curator copy-db postgresql://curator@db.example.org/curator\n"
             "  curator copy-db /srv/curator/db/curator.db      # back to SQLite")
@click.argument("target")
@click.option("--replace", is_flag=True,
              help="Empty a target that already holds data first (its rows are lost).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows copied as JSON.")
@pass_ctx
def copy_db(c: Ctx, target: str, replace: bool, as_json: bool) -> None:
    """Copy everything into another database (a SQLite file or a postgresql:// URL), checked.

    Sources and their state, entries, candidates, notes, history, stories, editors and the
    relevance model, in one transaction on the target; the target's search index is built as
    the entries arrive. It is committed only if every table's row count and `curator export`
    are the same on both sides. A target that already holds data is refused (exit 2).
    """
    with _progress(sys.stderr.isatty() and not (c.quiet or as_json), "copying") as bar:
        tick = None if bar is None else (lambda _table, n, total: bar(n, total))
        done = c.curator().copy_db(target, replace=replace, progress=tick)
    if as_json:
        emit_json(done)
        return
    click.echo(f"copied {done['rows']:,} rows to {done['target']}; checked: every table's row "
               "count and the export are the same on both sides")
    for table, n in done["tables"].items():
        click.echo(f"  {table:<18} {n:>12,}")


@cli.command("export", epilog="\b\nExamples:\n  curator export > featured.json\n"
             "  curator export --format csv --status reviewed > reviewed.csv")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json",
              show_default=True)
@click.option("--status", type=click.Choice(["featured", "rejected", "reviewed"]),
              default="featured", show_default=True,
              help="Featured items, rejected ones, or both (reviewed).")
@pass_ctx
def export_cmd(c: Ctx, fmt: str, status: str) -> None:
    """Print the featured items with their notes, to move an editor's work between installs."""
    statuses = ("featured", "rejected") if status == "reviewed" else (status,)
    click.echo(c.curator().export(fmt, statuses), nl=False)


@cli.command("import", epilog="\b\nExamples:\n  curator import featured.json\n"
             "  curator import - < reviewed.csv")
@click.argument("file", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def import_cmd(c: Ctx, file: Any, as_json: bool) -> None:
    """Import items from `curator export` (JSON or CSV), matched by canonical URL."""
    counts = c.curator().import_items(file.read(), editor=editor_name())
    if as_json:
        emit_json(counts)
    else:
        click.echo(f"{counts['added']} added, {counts['updated']} updated, "
                   f"{counts['unchanged']} unchanged")


@cli.group(epilog="\b\nExamples:\n  curator opml export > sources.opml\n"
           "  curator opml import subscriptions.opml")
def opml() -> None:
    """Exchange the source list with feed readers as OPML."""


@opml.command("export", epilog="\b\nExample:\n  curator opml export > sources.opml")
@pass_ctx
def opml_export(c: Ctx) -> None:
    """Print the sources as OPML 2.0."""
    sys.stdout.buffer.write(c.curator().opml())


@opml.command("import", epilog="\b\nExample:\n  curator opml import subscriptions.opml")
@click.argument("file", type=click.File("rb"))
@pass_ctx
def opml_import(c: Ctx, file: Any) -> None:
    """Add an OPML file's feeds to feeds.yaml (only the added lines change).

    Feeds already in feeds.yaml, listed twice, or not http/https are skipped, each with why.
    """
    result = c.curator().import_opml(file.read(), file.name)
    n = len(result.added)
    click.echo(f"{_count(n, 'source')} added to {c.curator().config.path}")
    for url in result.added:
        click.echo(f"  + {url}")
    if result.skipped:
        n = len(result.skipped)
        click.echo(f"{n} skipped:")
        for s in result.skipped:
            click.echo(f"  - {s.url}: {s.reason}")


# ------------------------------------------------------------------ editors and the web desk


@cli.group(epilog="\b\nExamples:\n  curator editor add maria            # asks for the password twice\n"
           "  printf '%s\\n' \"$PASS\" | curator editor add maria --password-stdin\n"
           "  curator editor list\n  curator editor remove maria")
def editor() -> None:
    """Manage the editors who can log in to the web desk."""


def _read_password(from_stdin: bool, prompt: str) -> str:
    """One line from standard input (for scripts), else asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))


@editor.command("add", epilog="\b\nExample:\n  curator editor add maria")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def editor_add(c: Ctx, name: str, password_stdin: bool) -> None:
    """Create an editor (the password is stored only as a slow salted hash)."""
    c.curator().add_editor(name, _read_password(password_stdin, "Password"))
    click.echo(f"editor {name} added")


@editor.command("passwd", epilog="\b\nExample:\n  curator editor passwd maria")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def editor_passwd(c: Ctx, name: str, password_stdin: bool) -> None:
    """Change an editor's password."""
    c.curator().set_editor_password(name, _read_password(password_stdin, "New password"))
    click.echo(f"password of {name} changed")


@editor.command("logout", epilog="\b\nExample:\n  curator editor logout maria   # a laptop was lost")
@click.argument("name")
@pass_ctx
def editor_logout(c: Ctx, name: str) -> None:
    """End an editor's desk sessions on every browser (the password stays)."""
    c.curator().end_sessions(name)
    click.echo(f"every desk session of {name} has ended")


@editor.command("list", epilog="\b\nExample:\n  curator editor list --json")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def editor_list(c: Ctx, as_json: bool) -> None:
    """List the editors."""
    rows = c.curator().editors()
    if as_json:
        emit_json([editor_json(r) for r in rows])
        return
    for r in rows:
        click.echo(f"{r.name}  (since {_date(r.created)})")


@editor.command("remove", epilog="\b\nExample:\n  curator editor remove maria")
@click.argument("name")
@pass_ctx
def editor_remove(c: Ctx, name: str) -> None:
    """Remove an editor; what they did stays in the review log."""
    c.curator().remove_editor(name)
    click.echo(f"editor {name} removed")


@cli.command(epilog="\b\nExamples:\n  curator web                      # http://127.0.0.1:8080/\n"
             "  curator web --host 0.0.0.0 --port 8000   # behind a TLS-terminating proxy")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--trusted-proxy", metavar="ADDRESS", envvar="CURATOR_TRUSTED_PROXY",
              help="The address of your TLS proxy: believe its X-Forwarded-For, so login "
                   "limits count each client, not the proxy ($CURATOR_TRUSTED_PROXY).")
@pass_ctx
def web(c: Ctx, host: str, port: int, trusted_proxy: str | None) -> None:
    """Serve the editors' desk and the public feeds (/feed.xml, /atom.xml)."""
    from .web import serve

    serve(c.curator().config, host=host, port=port, trusted_proxy=trusted_proxy)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="curator")


if __name__ == "__main__":
    main()
