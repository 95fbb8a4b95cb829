"""The daemon: its jobs, crontab days, the job wrapper, graceful stop, start-up and the
health alarm; and a real ``bot run`` subprocess stopped by SIGTERM and SIGINT.

In-process daemons run the real BlockingScheduler in a thread on the real clock;
the health alarm is driven by a fake clock. Waits are polling loops with a generous
bound, never sleeps that stand in for assertions.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import load_config
from bot.core import Bot, utcnow
from bot.errors import ConfigError, RateLimited
from bot.models import Actor, Status
from bot.pipeline.publish import HOSTNAME
from bot.publishers.outbox import OutboxPublisher
from bot.scheduler import (
    Daemon,
    SkippedTickFilter,
    check_health,
    config_warnings,
    feed_trigger,
)
from tests.feedkit import FeedServer, Route, make_items, rss, write_config
from tests.schedkit import (
    ACCOUNT,
    NO_FEED_URL,
    WITA,
    FakeClock,
    ScriptedOutbox,
    add_post,
    make_bot,
    schedule_toml,
    scripted,
    wait_for,
    wita,
)

REPO = Path(__file__).resolve().parent.parent


# -- jobs ------------------------------------------------------------------------------


def test_one_poll_job_per_feed_one_tick_per_account_requests_health_and_followup(
        tmp_path: Path) -> None:
    now = wita(2026, 11, 30, 12, 0)
    bot = make_bot(
        tmp_path, FakeClock(now), feeds_extra='poll_every = "2m"',
        extra=(f'[[feeds]]\nname = "kutim"\nurl = "{NO_FEED_URL}"\n'
               'cron = "*/15 6-22 * * mon-fri"\naccounts = ["editorialkaltim", "kedua"]\n'
               '[[accounts]]\nname = "kedua"\n'))
    daemon = Daemon(bot)
    daemon.schedule_jobs(now)
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    assert set(jobs) == {"poll:utama", "poll:kutim", "publish:editorialkaltim",
                         "publish:kedua", "requests", "health", "followup"}
    for job in jobs.values():
        assert job.max_instances == 1
        assert job.coalesce is True
        assert job.trigger.timezone == WITA
    interval = jobs["poll:utama"].trigger
    assert isinstance(interval, IntervalTrigger)
    assert interval.interval == timedelta(minutes=2)
    assert isinstance(jobs["poll:kutim"].trigger, CronTrigger)
    for feed in ("utama", "kutim"):
        assert jobs[f"poll:{feed}"].next_run_time == now  # every feed is polled at start
        assert jobs[f"poll:{feed}"].executor == "poll"  # one poll at a time
    assert jobs["poll:utama"].misfire_grace_time == 60
    assert jobs["poll:kutim"].misfire_grace_time == 60
    for account in ("editorialkaltim", "kedua"):
        tick = jobs[f"publish:{account}"]
        assert tick.trigger.interval == timedelta(seconds=10)
        assert tick.misfire_grace_time == 10
    assert jobs["health"].trigger.interval == timedelta(minutes=1)
    # Often, so that each post's link check happens near its own offset; on its own
    # executor, so slow article sites never hold up polls or publish ticks.
    assert jobs["followup"].trigger.interval == timedelta(minutes=1)
    assert jobs["followup"].executor == "followup"
    # Poll requests are read every tick, on the poll worker (never beside a poll).
    assert jobs["requests"].trigger.interval == timedelta(seconds=10)
    assert jobs["requests"].executor == "poll"


@pytest.mark.parametrize("timezone", [None, "Asia/Jakarta"])
def test_scheduler_runs_in_the_configured_zone_never_the_machines(
        tmp_path: Path, timezone: str | None) -> None:
    path = tmp_path / "bot.toml"
    write_config(path, NO_FEED_URL)
    line = 'timezone = "Asia/Makassar"\n'
    path.write_text(path.read_text().replace(line, f'timezone = "{timezone}"\n' if timezone
                                             else ""))
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        bot = Bot(load_config(path), data_dir=tmp_path / "var")
        daemon = Daemon(bot)
        daemon.schedule_jobs(utcnow())
        expected = ZoneInfo(timezone or "Asia/Makassar")
        assert daemon.scheduler.timezone == expected
        assert {job.trigger.timezone for job in daemon.scheduler.get_jobs()} == {expected}
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


# -- crontab days ------------------------------------------------------------------------


@pytest.mark.parametrize(("cron", "after", "fires"), [
    # 28 November 2026 is a Saturday.
    ("*/5 6-22 * * mon-fri", wita(2026, 11, 28, 12, 0), wita(2026, 11, 30, 6, 0)),
    ("*/5 6-22 * * MON-FRI", wita(2026, 11, 30, 22, 56), wita(2026, 12, 1, 6, 0)),
    ("0 8 * * sat,sun", wita(2026, 11, 27, 12, 0), wita(2026, 11, 28, 8, 0)),
    ("30 7 * * sun", wita(2026, 11, 28, 12, 0), wita(2026, 11, 29, 7, 30)),
    ("0 * * * *", wita(2026, 11, 28, 12, 1), wita(2026, 11, 28, 13, 0)),
])
def test_cron_days_by_name_mean_what_they_say_in_wita(
        tmp_path: Path, cron: str, after: datetime, fires: datetime) -> None:
    path = tmp_path / "bot.toml"
    write_config(path, NO_FEED_URL, feeds_extra=f'cron = "{cron}"')
    feed = load_config(path).feeds[0]
    assert feed_trigger(feed, WITA).get_next_fire_time(None, after) == fires


@pytest.mark.parametrize("cron", [
    "*/5 6-22 * * 1-5", "0 8 * * 0", "0 8 * * 6,0", "0 8 * * */2", "0 8 * * mon-5",
    "0 8 * * 7",
])
def test_numeric_days_of_the_week_are_refused_with_a_hint(tmp_path: Path, cron: str) -> None:
    path = tmp_path / "bot.toml"
    write_config(path, NO_FEED_URL, feeds_extra=f'cron = "{cron}"')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "feeds[0].cron"
    assert "day names such as mon-fri" in str(caught.value)
    assert "APScheduler counts 0 as Monday" in str(caught.value)


@pytest.mark.parametrize(("cron", "problem"), [
    ("*/5 6-22 * *", "it needs 5 fields"),
    ("0 8 * * sun-sat", "runs backwards"),
    ("0 25 * * mon", "bad cron expression"),
])
def test_bad_crontabs_are_refused(tmp_path: Path, cron: str, problem: str) -> None:
    path = tmp_path / "bot.toml"
    write_config(path, NO_FEED_URL, feeds_extra=f'cron = "{cron}"')
    with pytest.raises(ConfigError, match=problem):
        load_config(path)


def test_poll_every_and_cron_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    write_config(path, NO_FEED_URL, feeds_extra='poll_every = "5m"\ncron = "0 * * * *"')
    with pytest.raises(ConfigError, match="either poll_every or cron"):
        load_config(path)


# -- the daemon in a thread ---------------------------------------------------------------

FAST = '[publish]\npublishing_grace = "1s"\nstop_timeout = "30s"\n'


class Running:
    """A Daemon serving in a thread; ``stop()`` then ``finish()`` drains it."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.drained: list[bool] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.daemon.serve()
        self.drained.append(self.daemon.drain())

    def finish(self) -> bool:
        """Stop the daemon and wait for its drain; whether in-flight work ended in time."""
        self.daemon.stop()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        return self.drained[0]


def fast_bot(tmp_path: Path, publisher: ScriptedOutbox, extra: str = FAST) -> Bot:
    return make_bot(tmp_path, utcnow, schedule=schedule_toml(tick="1s"), extra=extra,
                    publisher=publisher)


def test_a_job_that_raises_is_recorded_and_the_daemon_keeps_going(tmp_path: Path) -> None:
    publisher = scripted(tmp_path, RuntimeError("boom in the publisher"))
    bot = fast_bot(tmp_path, publisher)
    post_id = add_post(bot, 1)
    running = Running(Daemon(bot))
    try:
        # The failed upload left the post publishing; a later tick's exactly-once
        # check finds nothing in the outbox, requeues it, and the tick after posts it.
        wait_for(lambda: bot.store.post(post_id).status == Status.POSTED,
                 what="the post to go out after the failing tick")
    finally:
        assert running.finish()
    errors = bot.store.events(kind="job_error")
    assert [(e.actor, e.account, e.reason) for e in errors] == [
        ("scheduler", ACCOUNT,
         "publish:editorialkaltim: RuntimeError: boom in the publisher")]
    assert publisher.calls == 2
    assert len(list((tmp_path / "var" / "outbox").glob("*.json"))) == 1


def test_stop_lets_the_upload_in_flight_finish_and_starts_nothing_new(tmp_path: Path) -> None:
    publisher = scripted(tmp_path)
    publisher.gate = threading.Event()
    bot = fast_bot(tmp_path, publisher)
    first = add_post(bot, 1, published=utcnow() - timedelta(minutes=10))
    second = add_post(bot, 2)
    running = Running(Daemon(bot))
    wait_for(publisher.entered.is_set, what="an upload to start")
    stopper = threading.Thread(target=running.daemon.stop)
    stopper.start()
    stopper.join(timeout=30)
    assert bot.store.post(first).status == Status.PUBLISHING
    publisher.gate.set()
    assert running.finish() is True
    assert bot.store.post(first).status == Status.POSTED
    assert bot.store.post(second).status == Status.QUEUED
    assert publisher.calls == 1
    assert not bot.store.posts_with_status(Status.PUBLISHING)


def test_drain_gives_up_after_stop_timeout_and_exactly_once_settles_the_post(
        tmp_path: Path) -> None:
    publisher = scripted(tmp_path)
    publisher.gate = threading.Event()
    bot = fast_bot(tmp_path, publisher,
                   extra='[publish]\npublishing_grace = "1s"\nstop_timeout = "1s"\n')
    post_id = add_post(bot, 1)
    running = Running(Daemon(bot))
    wait_for(publisher.entered.is_set, what="an upload to start")
    assert running.finish() is False  # `bot run` would now exit 0 at once
    # As after such an exit: the post is publishing, owned by a process that is gone.
    assert bot.store.post(post_id).status == Status.PUBLISHING
    publisher.gate.set()
    wait_for(lambda: bot.store.post(post_id).status != Status.PUBLISHING,
             what="the upload to end")
    assert bot.store.post(post_id).status == Status.POSTED


class StoppedEarly(Daemon):
    """A stop that lands after serve() looked but before the scheduler started."""

    def schedule_jobs(self, now: datetime) -> None:
        super().schedule_jobs(now)
        self.stop()


@pytest.mark.parametrize("daemon_class", [Daemon, StoppedEarly], ids=["before", "during"])
def test_a_stop_before_the_scheduler_runs_is_not_lost(tmp_path: Path,
                                                      daemon_class: type[Daemon]) -> None:
    bot = fast_bot(tmp_path, scripted(tmp_path))
    daemon = daemon_class(bot)
    if daemon_class is Daemon:
        daemon.stop()  # e.g. SIGTERM during start-up recovery
    serving = threading.Thread(target=daemon.serve, daemon=True)
    serving.start()
    serving.join(timeout=30)
    assert not serving.is_alive(), "serve() kept running after stop()"
    assert daemon.drain() is True


@pytest.mark.parametrize(("job", "shown"), [("publish:editorialkaltim", False),
                                             ("poll:utama", True)])
def test_overlapping_publish_ticks_are_not_reported_but_overrunning_polls_are(
        caplog: pytest.LogCaptureFixture, job: str, shown: bool) -> None:
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    skips = SkippedTickFilter()
    scheduler_log.addFilter(skips)
    try:
        with caplog.at_level("WARNING", logger="apscheduler.scheduler"):
            # What APScheduler logs when a job's previous run is still going.
            scheduler_log.warning(
                'Execution of job "%s" skipped: maximum number of running instances '
                "reached (%d)", f"{job} (trigger: interval[0:00:10])", 1)
    finally:
        scheduler_log.removeFilter(skips)
    assert bool(caplog.records) is shown


def test_startup_settles_posts_left_publishing_by_a_dead_process(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock)
    landed, lost = add_post(bot, 1), add_post(bot, 2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for post_id in (landed, lost):
        assert bot.store.transition(
            post_id, Status.PUBLISHING, expect=[Status.QUEUED], actor=Actor.SCHEDULER,
            at=clock(), reason="uploading to outbox (attempt 1)", publishing_at=clock(),
            publishing_by=f"{HOSTNAME}:{dead.pid}", attempts=1)
    # The dead process's first upload had landed before it died.
    OutboxPublisher(tmp_path / "var" / "outbox").publish(
        bot.publishing.files(bot.store.post(landed)))

    clock.advance(seconds=5)
    Daemon(bot).startup()  # inside the grace period: a late request could still land
    assert {bot.store.post(p).status for p in (landed, lost)} == {Status.PUBLISHING}

    clock.advance(seconds=10)
    Daemon(bot).startup()
    assert bot.store.post(landed).status == Status.POSTED
    assert bot.store.post(landed).reason == "found on the account after an interrupted upload"
    assert bot.store.post(lost).status == Status.QUEUED
    assert bot.publish()[0].post_id == lost
    assert len(list((tmp_path / "var" / "outbox").glob("*.json"))) == 2


def test_startup_warns_about_accounts_that_can_never_post(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bot = make_bot(
        tmp_path, utcnow,
        extra=('[[accounts]]\nname = "tanpa-jendela"\n[accounts.schedule]\nwindows = []\n'
               '[[accounts]]\nname = "tanpa-kuota"\n[accounts.schedule]\ndaily_cap = 0\n'))
    found = {(w.account, w.message) for w in config_warnings(bot)}
    assert found == {
        ("tanpa-jendela",
         "can never post: no posting windows are configured ([schedule] windows = [])"),
        ("tanpa-jendela", "can never post: no [[feeds]] entry lists it in accounts"),
        ("tanpa-kuota", "can never post: daily_cap is 0"),
        ("tanpa-kuota", "can never post: no [[feeds]] entry lists it in accounts"),
    }
    with caplog.at_level("WARNING", logger="bot.scheduler"):
        Daemon(bot).startup()
    assert sum("can never post" in r.getMessage() for r in caplog.records) == 4


# -- health alarm ----------------------------------------------------------------------------


def alerts(bot: Bot, kind: str = "alert") -> list[str]:
    return [e.data["key"] for e in bot.store.events(kind=kind)]


HEALTH = '[alerts]\nno_posts_after = "1h"\nfeed_failing_after = "1h"\n'


def test_idle_account_alerts_once_per_incident_and_resolves_when_it_posts(
        tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(windows=["06:00-22:00"]),
                   extra=HEALTH)
    add_post(bot, 1)
    clock.set(wita(2026, 11, 30, 10, 59))
    check_health(bot)
    assert alerts(bot) == []
    clock.set(wita(2026, 11, 30, 11, 0))
    check_health(bot)
    key = f"account:{ACCOUNT}:idle"
    assert alerts(bot) == [key]
    message = bot.store.events(kind="alert")[0].reason
    assert message == (f"account {ACCOUNT} has 1 post(s) waiting but has posted nothing for "
                       "1h of posting-window time (since 2026-11-30 10:00 WITA)")
    for minutes in (1, 30, 90):
        clock.set(wita(2026, 11, 30, 11, 0) + timedelta(minutes=minutes))
        check_health(bot)
    assert alerts(bot) == [key]  # once per incident
    assert len(bot.publish()) == 1
    assert alerts(bot, "alert_resolved") == [key]

    add_post(bot, 2)  # a second incident alerts again
    clock.advance(hours=1)
    check_health(bot)
    assert alerts(bot) == [key, key]


def test_idle_alert_resolves_when_nothing_waits_any_more(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock, extra=HEALTH)
    post_id = add_post(bot, 1)
    clock.advance(hours=2)
    check_health(bot)
    bot.skip(post_id, reason="tidak relevan")
    check_health(bot)
    assert alerts(bot, "alert_resolved") == [f"account:{ACCOUNT}:idle"]


@pytest.mark.parametrize(("scenario", "quiet_until", "alert_at"), [
    # Queued at 21:30 with windows 06:00-22:00: 30 min count that evening.
    pytest.param("night", wita(2026, 12, 1, 6, 29), wita(2026, 12, 1, 6, 30), id="night"),
    # The cap (1) was reached at 10:00: the rest of that day is rightly silent.
    pytest.param("cap", wita(2026, 12, 1, 6, 59), wita(2026, 12, 1, 7, 0), id="cap"),
    # 1 December is a quiet day: it does not count either.
    pytest.param("quiet", wita(2026, 12, 2, 6, 29), wita(2026, 12, 2, 6, 30), id="quiet-day"),
    # A cooldown until 16:00: silence counts from when it ended.
    pytest.param("cooldown", wita(2026, 11, 30, 16, 59), wita(2026, 11, 30, 17, 0),
                 id="cooldown"),
])
def test_idle_time_counts_only_time_the_account_could_have_posted(
        tmp_path: Path, scenario: str, quiet_until: datetime, alert_at: datetime) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    quiet_days = [datetime(2026, 12, 1).date()] if scenario == "quiet" else []
    publisher = scripted(tmp_path)
    if scenario == "cooldown":
        publisher.errors.append(RateLimited("Please wait", cooldown=timedelta(hours=6)))
    bot = make_bot(tmp_path, clock, extra=HEALTH, publisher=publisher,
                   schedule=schedule_toml(windows=["06:00-22:00"],
                                          daily_cap=1 if scenario == "cap" else 10,
                                          quiet_days=quiet_days))
    if scenario == "cap":
        add_post(bot, 1)
        assert len(bot.publish()) == 1
        add_post(bot, 2)
    elif scenario == "cooldown":
        add_post(bot, 1)
        bot.publish()  # rate-limited: cooldown until 16:00
        clock.set(wita(2026, 11, 30, 16, 0))
        assert bot.publishing.account_block(ACCOUNT, clock(), actor=Actor.SCHEDULER) is None
    else:
        clock.set(wita(2026, 11, 30, 21, 30))
        add_post(bot, 1)
    idle = f"account:{ACCOUNT}:idle"
    clock.set(quiet_until)
    check_health(bot)
    assert idle not in alerts(bot)
    clock.set(alert_at)
    check_health(bot)
    assert alerts(bot).count(idle) == 1


def test_failing_feed_alerts_once_and_resolves_when_it_recovers(
        tmp_path: Path, server: FeedServer) -> None:
    server.routes["/feed/"] = Route(body=b"<html>database error</html>", status=500,
                                    content_type="text/html")
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock, feed_url=server.url("/feed/"), extra=HEALTH)
    bot.poll()
    clock.advance(minutes=59)
    bot.poll()
    check_health(bot)
    assert alerts(bot) == []
    clock.advance(minutes=1)
    bot.poll()
    check_health(bot)
    check_health(bot)
    assert alerts(bot) == ["feed:utama:failing"]
    alert = bot.store.events(kind="alert")[0]
    assert alert.feed == "utama"
    assert alert.reason.startswith("feed utama has failed since 2026-11-30 10:00 WITA (3 polls)")
    server.routes["/feed/"] = Route(body=rss(make_items(3)))
    bot.poll()
    assert alerts(bot, "alert_resolved") == ["feed:utama:failing"]


# -- a real `bot run` ---------------------------------------------------------------------------


def _bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def _log(env: dict[str, str]) -> list[dict[str, object]]:
    result = _bot(env, "log", "--format", "json", "--limit", "0")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_bot_run_polls_posts_within_policy_and_stops_cleanly(
        tmp_path: Path, data_dir: Path, server: FeedServer, stop_signal: signal.Signals) -> None:
    now = datetime.now(UTC)
    items = make_items(4, newest=now - timedelta(minutes=10), step=timedelta(minutes=5))
    server.routes["/feed/"] = Route(body=rss(items))
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"), feeds_extra='backlog = 2\npoll_every = "5s"',
                 schedule=schedule_toml(tick="1s", min_gap="2s"))
    env = {**os.environ, "BOT_CONFIG": str(config), "BOT_DATA_DIR": str(data_dir),
           "BOT_LOG_FORMAT": "json"}
    outbox = data_dir / "outbox"
    log_file = tmp_path / "run.log"
    # stderr goes to a file: a pipe nobody reads could fill up and block the daemon.
    with log_file.open("w") as stderr_sink:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=stderr_sink, text=True)
        try:
            def posted_files(count: int) -> bool:
                assert process.poll() is None, log_file.read_text()
                return len(list(outbox.glob("*.json"))) >= count

            wait_for(lambda: posted_files(2), what="the backlog to go out",
                     detail=log_file.read_text)
            # A new article appears; the next scheduled poll finds it and it goes out too.
            newer = make_items(1, start_id=50000, newest=datetime.now(UTC))
            server.routes["/feed/"] = Route(body=rss(newer + items))
            wait_for(lambda: posted_files(3), what="the new article",
                     detail=log_file.read_text)
            process.send_signal(stop_signal)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    stderr = log_file.read_text()
    assert process.returncode == 0, stderr
    messages = [json.loads(line)["message"] for line in stderr.splitlines() if line]
    assert f"received {stop_signal.name}; stopping (in-flight work gets up to 60s)" in messages
    assert messages[-1] == "stopped cleanly"

    rows = _log(env)
    by_status: dict[object, list[dict[str, object]]] = {}
    for row in rows:
        by_status.setdefault(row["status"], []).append(row)
    assert "publishing" not in by_status
    assert len(by_status["posted"]) == 3
    assert len(by_status["seen"]) == 2  # older than the backlog of 2
    for row in by_status["posted"]:
        card = Path(str(row["permalink"]))
        assert card.is_file() and card.parent == outbox
        stem = card.name.removesuffix(".jpg")
        for suffix in (".txt", ".alt.txt", ".json"):
            assert (outbox / f"{stem}{suffix}").is_file()
    times = sorted(datetime.fromisoformat(str(r["posted_at"])) for r in by_status["posted"])
    assert all(b - a >= timedelta(seconds=2) for a, b in pairwise(times))
    assert all(t.utcoffset() == timedelta(hours=8) for t in times)  # WITA in the log


def test_feeds_on_one_interval_are_spread_over_it_after_the_start_up_poll(
        tmp_path: Path) -> None:
    now = wita(2026, 11, 30, 12, 0)
    more = "".join(f'[[feeds]]\nname = "f{i}"\nurl = "{NO_FEED_URL}"\npoll_every = "1m"\n'
                   'accounts = ["editorialkaltim"]\n' for i in range(1, 4))
    bot = make_bot(tmp_path, FakeClock(now), feeds_extra='poll_every = "1m"', extra=more)
    daemon = Daemon(bot)
    daemon.schedule_jobs(now)
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    names = ["utama", "f1", "f2", "f3"]
    for name in names:
        assert jobs[f"poll:{name}"].next_run_time == now  # every feed is polled at start
    # After the start-up poll each feed falls on its own quarter of the minute, at least
    # half a minute later: never all four in the same second.
    after_start = [jobs[f"poll:{n}"].trigger.get_next_fire_time(now, now) for n in names]
    assert [(t - now).total_seconds() for t in after_start] == [60, 75, 30, 45]
    trigger = jobs["poll:f1"].trigger
    slot = after_start[1]
    assert trigger.get_next_fire_time(slot, slot) == slot + timedelta(minutes=1)
    # A run that started late (it waited behind others) does not shift the phase.
    late = slot + timedelta(seconds=20)
    assert trigger.get_next_fire_time(late, late) == slot + timedelta(minutes=1)


def test_poll_lag_times_the_start_up_round_then_reports_each_minute(
        caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    from bot.scheduler import PollLag

    bot = make_bot(tmp_path, FakeClock(wita(2026, 11, 30, 12, 0)))
    lag = PollLag()
    start = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    t0 = start.timestamp()
    lag.started(start, 2)
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    for feed, began, ended in (("a", t0, t0 + 1), ("b", t0 + 1, t0 + 2.5)):
        lag.running(feed, began)
        lag.finished(feed, start, ended)
    assert "every feed polled once in 2.50s" in caplog.text
    due = start + timedelta(minutes=1)
    for i in range(100):
        lag.running("a", due.timestamp() + (0.01 if i < 99 else 3.0))
        lag.finished("a", due, due.timestamp() + 4)
    lag.report(bot.config)
    lines = [r for r in caplog.records if "polls" in r.getMessage()]
    assert lines[-1].levelno == logging.INFO
    assert "100 polls" in lines[-1].getMessage() and "p50 0.01s" in lines[-1].getMessage()
    assert "max 3.00s" in lines[-1].getMessage()
    # A missed poll (later than its grace time) is a warning.
    lag.missed("a")
    lag.report(bot.config)
    assert caplog.records[-1].levelno == logging.WARNING
    assert "1 missed" in caplog.records[-1].getMessage()
