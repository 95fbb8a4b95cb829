"""The ``bot`` command line: parses arguments, builds the core, calls it, reports.

Exit codes: 0 ok (feed or post failures are recorded, not fatal); 2 bad usage or
configuration; 1 the bot could not do its job (e.g. the store is unavailable).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from pathlib import Path
from typing import Any, NoReturn

import click

from bot import __version__
from bot.config import Config, load_config
from bot.core import Bot, data_dir_from_env
from bot.dates import local_time
from bot.envfile import ENV_FILE, load_env_file
from bot.errors import BotError, ConfigError, InvalidAction, NotFound
from bot.logs import setup_logging
from bot.memory import tune_allocator
from bot.models import Actor, Followup, FollowupState, Post, Status
from bot.shapes import event_record, followup_record, post_record, posts_csv, posts_json
from bot.store import PostFilter

log = logging.getLogger("bot.cli")


class Failure(click.ClickException):
    """The bot could not do its job (exit 1)."""

    exit_code = 1


class BadUsage(click.ClickException):
    """Bad usage or bad configuration (exit 2)."""

    exit_code = 2


@contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    """Turn the core's exceptions into messages and exit codes."""
    try:
        yield
    except (ConfigError, NotFound, InvalidAction) as exc:
        raise BadUsage(str(exc)) from exc
    except BotError as exc:
        raise Failure(str(exc)) from exc


class State:
    """Global options, and the config and core built from them on first use."""

    def __init__(self, config_path: str | None, log_format: str | None, verbose: int,
                 env_file: list[str] | None = None) -> None:
        self.config_path = config_path
        self.log_format = log_format
        self.verbose = verbose
        #: Names of the variables ``./.env`` set (None: it was not read, as under tests).
        self.env_file = env_file
        self._config: Config | None = None
        self._bot: Bot | None = None

    @property
    def config(self) -> Config:
        """The validated config (exit 2 on a problem)."""
        if self._config is None:
            with errors_to_exit_codes():
                self._config = load_config(self.config_path)
            level = "DEBUG" if self.verbose > 0 else None
            setup_logging(tz=self._config.tz, fmt=self.log_format, level=level)
        return self._config

    def try_feed(self, url: str, backlog: int | None) -> None:
        """Replace the configured feeds with one at ``url`` (``bot run --feed-url``)."""
        with errors_to_exit_codes():
            self._config = self.config.trying_feed(url, backlog=backlog)

    @property
    def bot(self) -> Bot:
        """The core over the store in ``BOT_DATA_DIR``."""
        if self._bot is None:
            config = self.config
            with errors_to_exit_codes():
                self._bot = Bot(config, data_dir=data_dir_from_env())
        return self._bot

    def close(self) -> None:
        """Close the core, if it was built."""
        if self._bot is not None:
            self._bot.close()


pass_state = click.make_pass_decorator(State)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", metavar="PATH", envvar="BOT_CONFIG",
              help="Config file (env BOT_CONFIG; default config/bot.toml).")
@click.option("--log-format", type=click.Choice(["human", "json"]), envvar="BOT_LOG_FORMAT",
              help="Log line format on stderr (env BOT_LOG_FORMAT).")
@click.option("-v", "--verbose", count=True, help="Debug logging (or env BOT_LOG_LEVEL).")
@click.version_option(__version__, prog_name="bot")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_format: str | None,
        verbose: int) -> None:
    """Editorial Kaltim news-to-Instagram bot.

    The data dir (SQLite store, cards, outbox) is env BOT_DATA_DIR, default ./var.

    \b
    Example:
        bot run --once        # poll every feed, publish what is due, exit
        bot log --limit 20    # the post log
    """
    # The daemon and the desk run for weeks; see bot/memory.py for why and what it saves.
    tune_allocator()
    env_file = ctx.obj if isinstance(ctx.obj, list) else None  # from main()
    state = State(config_path, log_format, verbose, env_file)
    ctx.obj = state
    ctx.call_on_close(state.close)


def main() -> NoReturn:
    """Console-script entry point: read ``./.env`` (unset variables only), then run."""
    loaded = load_env_file()  # before click reads BOT_CONFIG and the other options
    cli.main(prog_name="bot", obj=loaded)
    raise SystemExit(0)  # pragma: no cover - click exits itself


# -- run, poll, publish ---------------------------------------------------------


@cli.command()
@click.option("--once", is_flag=True, help="Poll every feed, publish what is due now, exit.")
@click.option("--feed-url", metavar="URL",
              help="Use this feed instead of the configured ones (named try-<host>, for "
                   "every account), without editing the config.")
@click.option("--backlog", type=int, metavar="N",
              help="With --feed-url: queue the N newest entries at its first poll "
                   "(default: the config's backlog).")
@pass_state
def run(state: State, once: bool, feed_url: str | None, backlog: int | None) -> None:
    """Run the daemon: poll feeds and publish on schedule until SIGTERM/SIGINT.

    One bot run per store schedules; a second one waits as a hot standby and takes
    over within seconds when the first ends. --once does nothing while a daemon runs.

    \b
    Example:
        bot run             # the Procfile's worker
        bot run --once      # one poll and publish round, e.g. from cron
        bot run --once --feed-url https://example.com/feed/ --backlog 3
    """
    if backlog is not None and feed_url is None:
        raise click.UsageError("--backlog goes with --feed-url; set backlog in the config")
    if feed_url is not None:
        state.try_feed(feed_url, backlog)
    bot = state.bot
    with errors_to_exit_codes():
        if once:
            lock = bot.scheduler_lock()
            if not lock.acquire():
                # A daemon already schedules on this store; a second round beside it
                # would be harmless (posts are claimed) but pointless.
                click.echo(f"another bot run is the scheduler ({lock.description}); "
                           "--once did nothing", err=True)
                return
            try:
                bot.recover()
                _report_polls(bot.poll())
                _report_outcomes(bot.publish(actor=Actor.SCHEDULER))
                bot.follow_up()
            finally:
                lock.release()
            return
        from bot.scheduler import Daemon

        Daemon(bot).run()


@cli.command()
@click.option("--feed", metavar="NAME", help="Poll only this feed.")
@pass_state
def poll(state: State, feed: str | None) -> None:
    """Poll feeds; record new articles and render their posts (publishes nothing).

    \b
    Example:
        bot poll --feed utama
    """
    with errors_to_exit_codes():
        _report_polls(state.bot.poll(feed))


@cli.command()
@click.option("--account", metavar="NAME", help="Publish only for this account.")
@click.option("--force", is_flag=True,
              help="Ignore windows, quiet days, min_gap and daily_cap (never cooldowns, "
                   "stops, or expired/filtered/pending posts).")
@pass_state
def publish(state: State, account: str | None, force: bool) -> None:
    """Publish the posts that are due now.

    \b
    Example:
        bot publish --account editorialkaltim --force
    """
    with errors_to_exit_codes():
        if account:
            state.config.account(account)
        _report_outcomes(state.bot.publish(account, force=force, actor=Actor.CLI))


def _report_polls(reports: list[Any]) -> None:
    for report in reports:
        click.echo(f"{report.feed}: {report.status}: {report.reason}")


def _report_outcomes(outcomes: list[Any]) -> None:
    if not outcomes:
        click.echo("nothing published")
    for outcome in outcomes:
        click.echo(f"post {outcome.post_id} ({outcome.account}): {outcome.status}: "
                   f"{outcome.reason}")
    if outcomes and all(o.status == Status.EXPIRED for o in outcomes):
        click.echo(f"nothing published: {len(outcomes)} queued post"
                   f"{'s' if len(outcomes) > 1 else ''} expired, older than [schedule] "
                   "max_age when their turn came")


# -- preview ----------------------------------------------------------------------


@cli.command()
@click.argument("url", required=False)
@click.option("--latest", type=int, is_flag=False, flag_value=1, default=None, metavar="[N]",
              help="Render the N newest articles of the feed (default 1).")
@click.option("--feed", metavar="NAME", help="Feed to read (default: the first feed).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("preview"), show_default=True, help="Folder for the files.")
@click.option("--sheet", is_flag=True, help="Also write a contact sheet PNG of the cards.")
@pass_state
def preview(state: State, url: str | None, latest: int | None, feed: str | None,
            out_dir: Path, sheet: bool) -> None:
    """Render card, story card, caption and alt text without posting or touching the store.

    Reads the feed live. Files are named as in the outbox, with "preview" for the id.

    \b
    Example:
        bot preview --latest 9 --sheet --out preview/
        bot preview https://editorialkaltim.com/2024/10/28/jelang-pilkada-2024/
    """
    from bot.pipeline.preview import preview_articles

    if (url is None) == (latest is None):
        raise click.UsageError("give either an article URL or --latest [N]")
    if latest is not None and latest < 1:
        raise click.UsageError("--latest takes a number of articles, 1 or more")
    config = state.config
    with errors_to_exit_codes():
        result = preview_articles(config, data_dir_from_env(), url=url, latest=latest,
                                  feed=feed, out_dir=out_dir, sheet=sheet)
    for item in result.items:
        click.echo(f"{item.card}  {item.headline}")
        if item.notes:
            click.echo(f"    note: {item.notes}")
    for article, reason in result.skipped:
        click.echo(f"skipped {article.title[:80]!r} ({article.link or 'no link'}): {reason}")
    if result.sheet:
        click.echo(f"contact sheet: {result.sheet}")


# -- the post log ----------------------------------------------------------------


def _parse_since(value: str | None, config: Config) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD or an ISO 8601 time",
            param_hint="--since") from None
    if parsed.tzinfo is None:
        if len(value) <= 10:
            parsed = datetime.combine(parsed.date(), time(0))
        parsed = parsed.replace(tzinfo=config.tz)
    return parsed


@cli.command(name="log")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice([s.value for s in Status]), help="Only these statuses.")
@click.option("--feed", metavar="F", help="Only posts from this feed.")
@click.option("--account", metavar="A", help="Only posts for this account.")
@click.option("--since", metavar="DATE", help="Only posts created since DATE (local time).")
@click.option("--followup", "followup_state",
              type=click.Choice([s.value for s in FollowupState]),
              help="Only posts with a follow-up in this state (open: corrections and "
                   "takedowns still to handle).")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
              help="At most N posts (0 = all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@pass_state
def log_command(state: State, statuses: tuple[str, ...], feed: str | None,
                account: str | None, since: str | None, followup_state: str | None,
                limit: int, fmt: str) -> None:
    """Show the post log, newest first.

    \b
    Example:
        bot log --status failed --since 2026-11-01
        bot log --followup open
        bot log --format json --limit 0 > posts.json
    """
    config = state.config
    filters = PostFilter(status=statuses, feed=feed, account=account,
                         since=_parse_since(since, config), limit=limit or None,
                         followup=followup_state)
    with errors_to_exit_codes():
        posts = state.bot.posts(filters)
        open_followups = state.bot.followups(state=FollowupState.OPEN)
    if fmt == "json":
        click.echo(posts_json(posts, config.tz))
    elif fmt == "csv":
        click.echo(posts_csv(posts, config.tz), nl=False)
    else:
        _echo_table(posts, config, open_followups)


def _echo_table(posts: list[Post], config: Config,
                open_followups: list[Followup] | None = None) -> None:
    followups: dict[int, list[Followup]] = {}
    for record in open_followups or []:
        followups.setdefault(record.post_id, []).append(record)
    if not posts:
        click.echo("no posts")
        return
    header = f"{'ID':>5}  {'STATUS':<16} {'ACCOUNT':<16} {'CREATED':<16}  TITLE / REASON"
    click.echo(header)
    for post in posts:
        created = post.created_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{post.id:>5}  {post.status.value:<16} {post.account[:16]:<16} "
                   f"{created:<16}  {_cut(post.title, 70)}")
        if post.reason:
            click.echo(f"{'':>5}  {'':<16} {'':<16} {'':<16}  ↳ {_cut(post.reason, 68)}")
        for record in followups.get(post.id, []):
            text = f"follow-up #{record.id} open: {record.reason}"
            click.echo(f"{'':>5}  {'':<16} {'':<16} {'':<16}  ⚑ {_cut(text, 68)}")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@cli.command()
@click.argument("post_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@pass_state
def show(state: State, post_id: int, fmt: str) -> None:
    """Show one post: its files, caption, and event timeline.

    \b
    Example:
        bot show 42
    """
    config = state.config
    with errors_to_exit_codes():
        post = state.bot.post(post_id)
        events = state.bot.timeline(post_id)
        followups = state.bot.followups(post_id=post_id)
    data = post_record(post, config.tz)
    if fmt == "json":
        data["events"] = [event_record(e, config.tz) for e in events]
        data["followups"] = [followup_record(f, config.tz) for f in followups]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"Post {post.id}: {post.title}")
    for name in ("status", "reason", "account", "feed", "article_key", "link", "attempts",
                 "created_at", "posted_at", "permalink", "card_path", "story_path",
                 "story_status", "render_notes"):
        if data.get(name) not in (None, ""):
            click.echo(f"  {name + ':':<14}{data[name]}")
    if post.caption:
        click.echo("\nCaption:\n" + _indent(post.caption))
    if post.alt_text:
        click.echo("\nAlt text:\n" + _indent(post.alt_text))
    if followups:
        click.echo("\nFollow-ups:")
        for record in followups:
            opened = local_time(record.opened_at, config.tz)
            action = (f"; {record.action}: {record.action_state}"
                      + (f" ({record.action_reason})" if record.action_reason else "")
                      if record.action else "")
            click.echo(f"  #{record.id} {record.kind} {record.state} since {opened}{action}")
            click.echo(f"     {record.reason}")
    click.echo("\nTimeline:")
    for event in events:
        when = event.at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M:%S %Z")
        change = (f"{event.from_status or '-'} -> {event.to_status}"
                  if event.to_status else event.kind)
        click.echo(f"  {when}  {event.actor:<10} {change:<28} {event.reason}")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# -- human actions ----------------------------------------------------------------


def _action(name: str, method: str, doc: str) -> None:
    @cli.command(name=name, help=doc)
    @click.argument("post_id", type=int)
    @click.option("--reason", default="", metavar="TEXT", help="Why, for the event log.")
    @pass_state
    def command(state: State, post_id: int, reason: str) -> None:
        actor = f"cli:{os.environ.get('USER') or 'admin'}"
        with errors_to_exit_codes():
            post = getattr(state.bot, method)(post_id, reason=reason, actor=actor)
        click.echo(f"post {post.id}: {post.status.value}: {post.reason}")


_action("approve", "approve", """Release a pending_approval post into the queue.

    \b
    Example:
        bot approve 42 --reason "checked with the editor"
    """)
_action("retry", "retry", """Make a failed or queued post due now, clearing its backoff.

    On a publishing post it first checks the account (exactly-once check).

    \b
    Example:
        bot retry 42 --reason "image fixed"
    """)
_action("skip", "skip", """Drop a post so it never goes out.

    \b
    Example:
        bot skip 42 --reason "duplicate story"
    """)


# -- follow-ups -----------------------------------------------------------------------


@cli.command()
@click.argument("post_id", type=int, required=False)
@click.option("--update-caption", "action", flag_value="update_caption",
              help="Edit the Instagram caption: the new title and a correction line.")
@click.option("--archive", "action", flag_value="archive",
              help="Archive the Instagram post (only the account sees it).")
@click.option("--dismiss", "action", flag_value="dismiss",
              help="Close the follow-up; the Instagram post stays as it is.")
@click.option("--check", is_flag=True,
              help="Check the watched posts that are due now and send decided actions.")
@click.option("--reason", default="", metavar="TEXT", help="Why, for the event log.")
@pass_state
def followup(state: State, post_id: int | None, action: str | None, check: bool,
             reason: str) -> None:
    """Act on a post's open follow-up (a correction or a takedown of its article).

    \b
    Example:
        bot log --followup open
        bot followup 42 --update-caption
        bot followup 42 --archive --reason "artikel dicabut redaksi"
        bot followup 42 --dismiss --reason "typo kecil"
        bot followup --check
    """
    bot = state.bot
    if check:
        if post_id is not None or action:
            raise click.UsageError("--check takes no POST_ID or action")
        with errors_to_exit_codes():
            report = bot.follow_up()
        click.echo(f"watching {report.watched} posts; checked {report.checked}, "
                   f"{len(report.opened)} follow-ups opened")
        for line in report.actions:
            click.echo(f"  {line}")
        return
    if post_id is None:
        raise click.UsageError("give a POST_ID (or --check)")
    with errors_to_exit_codes():
        if action is None:
            records = bot.followups(post_id=post_id)
        else:
            actor = f"cli:{os.environ.get('USER') or 'admin'}"
            operation = {"update_caption": bot.update_caption, "archive": bot.archive,
                         "dismiss": bot.dismiss}[action]
            records = [operation(post_id, reason=reason, actor=actor)]
    if not records:
        click.echo(f"post {post_id} has no follow-ups")
    for record in records:
        done = (f"; {record.action}: {record.action_state}"
                + (f" ({record.action_reason})" if record.action_reason else "")
                if record.action else "")
        click.echo(f"follow-up #{record.id} on post {post_id}: {record.kind} "
                   f"{record.state}{done}")


# -- instagram login ----------------------------------------------------------------


@cli.command()
@click.option("--account", metavar="NAME",
              help="Account to log in (default: the only account with publisher = instagram).")
@click.option("--import", "import_file", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Import a session written by instagrapi's dump_settings instead.")
@pass_state
def login(state: State, account: str | None, import_file: Path | None) -> None:
    """Log in to Instagram and save the session in the store (never printed).

    Username and password come from the account's username_env and password_env; the
    2FA code from totp_secret_env, else it is asked for, as are challenge codes. With
    --import, a session made elsewhere is checked with one cheap call and saved: how a
    server without a terminal gets one. A stopped account becomes active again.

    \b
    Example:
        bot login --account editorialkaltim
        bot login --account editorialkaltim --import session.json
    """
    from bot.publishers.instagram.session import import_session
    from bot.publishers.instagram.session import login as instagram_login

    config = state.config
    with errors_to_exit_codes():
        if account is None:
            names = [a.name for a in config.accounts if a.publisher == "instagram"]
            if len(names) != 1:
                raise click.UsageError("name the account with --account NAME "
                                       f"(instagram accounts: {', '.join(names) or 'none'})")
            account = names[0]
        target = config.account(account)
        bot = state.bot
        if import_file is not None:
            result = import_session(target, import_file, config=config, store=bot.store,
                                    clock=bot.clock)
        else:
            result = instagram_login(target, config=config, store=bot.store, clock=bot.clock,
                                     prompt=lambda text: str(click.prompt(text)))
    click.echo(f"{result.account}: logged in as @{result.username} ({result.how}); "
               "session saved in the store"
               + ("; the stopped account is active again" if result.reactivated else ""))


# -- check and status ---------------------------------------------------------------


@cli.command()
@pass_state
def check(state: State) -> None:
    """Validate config, fonts, store, feeds, Instagram sessions and the Telegram token.

    Exits 1 when a check fails, 2 when the config itself is invalid.

    \b
    Example:
        bot check
    """
    from bot.checks import CheckResult, run_checks
    from bot.telegram.checks import telegram_checks

    config = state.config
    results = run_checks(config, data_dir_from_env()) + telegram_checks(config)
    if state.env_file is not None and Path(ENV_FILE).is_file():
        # Names only: the values may be secrets.
        names = ", ".join(state.env_file) or "nothing (every variable in it was already set)"
        results.insert(0, CheckResult("env file", "ok", f"{Path(ENV_FILE).resolve()} set {names}"))
    failed = False
    for result in results:
        click.echo(f"{result.level.upper():<5} {result.name}: {result.message}")
        failed = failed or result.level == "fail"
    if failed:
        sys.exit(1)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@pass_state
def status(state: State, fmt: str) -> None:
    """Show next poll per feed and, per account, state, next slot, queue and posts today.

    \b
    Example:
        bot status --format json
    """
    from bot.status import format_status

    with errors_to_exit_codes():
        data = state.bot.status()
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(format_status(data))


# -- the web desk --------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface, as on a host).")
@click.option("--port", type=click.IntRange(1, 65535), envvar="PORT", default=8000,
              show_default=True, help="Port to listen on (env PORT).")
@pass_state
def web(state: State, host: str, port: int) -> None:
    """Serve the newsroom desk and the public /bio page (uvicorn; stops on SIGTERM).

    Admins log in with BOT_ADMIN_USER and BOT_ADMIN_PASSWORD_HASH (from
    `bot hash-password`); BOT_SECRET_KEY signs the session cookies and is required.

    \b
    Example:
        bot web --port 8000          # then open http://127.0.0.1:8000/
        bot web --host 0.0.0.0 --port $PORT
    """
    from bot.web.auth import WebSettings
    from bot.web.server import serve

    with errors_to_exit_codes():
        settings = WebSettings.from_env()
    bot = state.bot
    log.info("desk on http://%s:%d/ (bio at /bio)", host, port)
    with errors_to_exit_codes():
        serve(bot, settings, host=host, port=port)


@cli.command(name="hash-password")
def hash_password_command() -> None:
    """Read a password and print its Argon2 hash, for BOT_ADMIN_PASSWORD_HASH.

    On a terminal it asks twice; otherwise it reads standard input: the first line, or
    two lines that must be equal. The password itself is never printed.

    \b
    Example:
        bot hash-password                       # asks for it twice
        printf '%s\\n' "$PASSWORD" | bot hash-password
    """
    from bot.web.auth import hash_password

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                                err=True)
    else:
        lines = sys.stdin.read().splitlines()
        if not lines or not lines[0]:
            raise BadUsage("no password on standard input (give it as the first line)")
        if len(lines) > 1 and lines[1] and lines[1] != lines[0]:
            raise BadUsage("the two passwords on standard input differ")
        password = lines[0]
    if len(password) < 8:
        raise BadUsage("the password is too short: use at least 8 characters")
    click.echo(hash_password(password))


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for index.html, bio.css and thumbs/.")
@pass_state
def bio(state: State, out_dir: Path) -> None:
    """Write the link-in-bio page as static files, for hosting on the site itself.

    The same page as the desk's /bio: the newest posted posts, newest first, each
    linking to its article with utm_medium=bio.

    \b
    Example:
        bot bio --out /var/www/editorialkaltim.com/bio
    """
    from bot.web.bio import write_bio

    with errors_to_exit_codes():
        index, count = write_bio(state.bot, out_dir)
    click.echo(f"{index}: {count} post(s)")
