"""The texts the bot sends to Telegram, in Indonesian, as Bot API HTML.

Pure functions over plain values: every piece of outside text (headlines, reasons,
names) is HTML-escaped, and captions are kept under Telegram's 1,024-character limit
(texts under 4,096), so a long headline never makes a message bounce.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from bot.dates import tanggal

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096

_APPROVAL_REASON_RE = re.compile(
    r"^needs approval: matches schedule\.approval\.(categories|keywords) '(.*)'$")
_STATUS_WORDS = {
    "seen": "terlihat", "filtered": "tersaring", "pending_approval": "menunggu persetujuan",
    "queued": "dalam antrean", "publishing": "sedang diunggah", "posted": "sudah terbit",
    "failed": "gagal", "skipped": "dilewati", "expired": "kedaluwarsa",
}
_STATE_WORDS = {"active": "aktif", "cooldown": "jeda", "stopped": "berhenti"}


def e(text: object) -> str:
    """HTML-escape outside text for a Bot API message."""
    return html.escape(str(text), quote=False)


def status_word(status: str) -> str:
    """A post status in Indonesian (``queued`` → ``dalam antrean``)."""
    return _STATUS_WORDS.get(status, status)


def clock_time(moment: datetime, tz: tzinfo) -> str:
    """``14:05 WITA``."""
    return moment.astimezone(tz).strftime("%H:%M %Z")


def when_text(moment: datetime | None, now: datetime, tz: tzinfo) -> str:
    """``segera``, ``14:20 WITA`` (today) or ``Minggu, 29 November 2026 06:00 WITA``."""
    if moment is None:
        return "belum ada slot (lihat bot status)"
    if moment <= now:
        return "segera"
    if moment.astimezone(tz).date() == now.astimezone(tz).date():
        return clock_time(moment, tz)
    return f"{tanggal(moment, tz)} {clock_time(moment, tz)}"


def approval_reason(reason: str) -> str:
    """Why the post was held, in Indonesian when it is the approval rule's own reason."""
    match = _APPROVAL_REASON_RE.match(reason)
    if not match:
        return reason
    what = "kategori" if match.group(1) == "categories" else "kata kunci"
    return f"{what} “{match.group(2)}” (aturan schedule.approval.{match.group(1)})"


def actor_text(actor: str) -> str:
    """Who acted, as people say it: ``@ana``, ``budi (web)``, ``root (CLI)``."""
    kind, _, name = actor.partition(":")
    if kind == "telegram" and name:
        return name if name.lstrip("-").isdigit() else f"@{name}"
    if kind == "web" and name:
        return f"{name} (web)"
    if kind == "cli":
        return f"{name} (CLI)" if name else "CLI"
    return {"scheduler": "penjadwal", "poller": "pembaca feed", "startup": "saat mulai"}.get(
        actor, actor)


@dataclass(frozen=True)
class PostFacts:
    """What a message says about one post."""

    id: int
    account: str
    title: str
    link: str
    status: str
    reason: str


def _fit(head: str, tail: str, limit: int) -> str:
    """``head`` + ``tail``, with ``head`` cut (at a line) so the whole fits in ``limit``."""
    if len(head) + len(tail) <= limit:
        return head + tail
    room = max(0, limit - len(tail) - 1)
    cut = head[:room]
    # Never cut inside an HTML tag or entity: drop back to the last whole line.
    cut = cut[: cut.rindex("\n")] if "\n" in cut else re.sub(r"<[^>]*$|&[^;\s]*$", "", cut)
    return cut + "…" + tail


def approval_caption(post: PostFacts, *, slot: str, queue_ahead: int) -> str:
    """The caption of a pending post's card: headline, why it waits, when it would go out."""
    ahead = f" ({queue_ahead} pos lain di antrean)" if queue_ahead else ""
    head = (f"🟡 <b>Perlu persetujuan</b> · {e(post.account)}\n\n"
            f"<b>{e(post.title)}</b>\n\n")
    tail = (f"Ditahan karena: {e(approval_reason(post.reason))}\n"
            f"Jika disetujui, terbit: {e(slot)}{e(ahead)}\n"
            f"{e(post.link)}\n"
            f"Pos #{post.id}")
    return _fit(head, tail, CAPTION_LIMIT)


def with_decision(original: str, line: str, *, limit: int = CAPTION_LIMIT) -> str:
    """An approval message with the decision appended (the original is trimmed to fit)."""
    return _fit(original, f"\n\n{line}", limit)


def decision_line(to_status: str, actor: str, at: datetime, tz: tzinfo,
                  reason: str = "") -> str:
    """``✅ Disetujui oleh @ana, 14:05 WITA`` and its kin."""
    who = e(actor_text(actor))
    when = clock_time(at, tz)
    if to_status == "queued":
        return f"✅ <b>Disetujui</b> oleh {who}, {when}"
    if to_status == "skipped":
        return f"⏭️ <b>Dilewati</b> oleh {who}, {when}"
    if to_status == "failed":
        return f"❌ <b>Gagal</b>, {when}: {e(reason)}"
    return f"ℹ️ Sekarang {e(status_word(to_status))} ({who}, {when})"


def alert_text(reason: str, *, account: str | None, feed: str | None, at: datetime,
               tz: tzinfo) -> str:
    """An alert incident opening."""
    where = " · ".join(e(x) for x in (account and f"akun {account}", feed and f"feed {feed}")
                       if x)
    head = f"⚠️ <b>Peringatan</b>{' · ' + where if where else ''} · {clock_time(at, tz)}\n"
    return _fit(head, e(reason), TEXT_LIMIT)


def resolved_text(reason: str, *, account: str | None, feed: str | None, at: datetime,
                  tz: tzinfo) -> str:
    """An alert incident closing."""
    where = " · ".join(e(x) for x in (account and f"akun {account}", feed and f"feed {feed}")
                       if x)
    head = f"✅ <b>Pulih</b>{' · ' + where if where else ''} · {clock_time(at, tz)}\n"
    return _fit(head, e(reason), TEXT_LIMIT)


def failure_text(post: PostFacts, reason: str, *, at: datetime, tz: tzinfo,
                 desk_url: str | None) -> str:
    """A post the bot gave up on: a human must look."""
    desk = f"\nBuka di desk: {e(desk_url)}" if desk_url else ""
    head = (f"❌ <b>Gagal terbit</b> · {e(post.account)} · {clock_time(at, tz)}\n\n"
            f"<b>{e(post.title)}</b>\n")
    tail = (f"\nAlasan: {e(reason)}\n{e(post.link)}\n"
            f"Pos #{post.id}: bot show {post.id}, lalu bot retry {post.id} atau bot skip "
            f"{post.id}{desk}")
    return _fit(head, tail, TEXT_LIMIT)


def followup_text(post: PostFacts | None, reason: str, *, permalink: str | None,
                  at: datetime, tz: tzinfo, desk_url: str | None,
                  resolved: bool = False) -> str:
    """A correction or takedown of a posted article (see [followup]), or its closing."""
    title = "Tindak lanjut selesai" if resolved else "Tindak lanjut"
    lines = [f"🔁 <b>{title}</b> · {clock_time(at, tz)}"]
    if post is not None:
        lines += [f"<b>{e(post.title)}</b>", e(post.link)]
    lines.append(e(reason))
    if permalink:
        lines.append(f"Instagram: {e(permalink)}")
    if desk_url:
        lines.append(f"Buka di desk: {e(desk_url)}")
    return _fit("", "\n".join(lines), TEXT_LIMIT)


@dataclass(frozen=True)
class AccountLine:
    """One account in the digest."""

    name: str
    state: str
    until: datetime | None
    reason: str
    next_slot: datetime | None
    queued: int
    pending_approval: int
    posted_today: int
    daily_cap: int


def digest_text(day: date, totals: Mapping[str, int], accounts: Sequence[AccountLine], *,
                open_alerts: int, now: datetime, tz: tzinfo,
                posted_titles: Sequence[str] = ()) -> str:
    """The day's summary: posted, skipped, failed and expired today; the queue; accounts."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=tz)
    lines = [f"📋 <b>Ringkasan hari ini</b> · {e(tanggal(noon, tz))}", "",
             f"Terbit: {totals.get('posted', 0)} · Dilewati: {totals.get('skipped', 0)} · "
             f"Gagal: {totals.get('failed', 0)} · Kedaluwarsa: {totals.get('expired', 0)}"]
    for title in posted_titles[:10]:
        lines.append(f"  • {e(title)}")
    if len(posted_titles) > 10:
        lines.append(f"  • … dan {len(posted_titles) - 10} lainnya")
    queued = sum(a.queued for a in accounts)
    pending = sum(a.pending_approval for a in accounts)
    lines += ["", f"Antrean: {queued} menunggu slot, {pending} menunggu persetujuan", "",
              "Akun:"]
    for account in accounts:
        state = _STATE_WORDS.get(account.state, account.state)
        if account.state == "cooldown" and account.until:
            state += f" hingga {when_text(account.until, now, tz)}"
        if account.reason and account.state != "active":
            state += f": {account.reason}"
        slot = ""
        if account.queued and account.state != "stopped":
            slot = f"; slot berikutnya {when_text(account.next_slot, now, tz)}"
        lines.append(f"  • {e(account.name)}: {e(state)}{e(slot)}; terbit hari ini "
                     f"{account.posted_today}/{account.daily_cap}")
    lines += ["", f"Peringatan terbuka: {open_alerts}" if open_alerts
              else "Tidak ada peringatan terbuka."]
    return _fit("", "\n".join(lines), TEXT_LIMIT)


def parse_button(data: str) -> tuple[str, int] | None:
    """``approve:12`` → ``("approve", 12)``; None for anything else."""
    action, _, number = data.partition(":")
    if action not in ("approve", "skip") or not number.isdigit():
        return None
    return action, int(number)


def facts(post: Any) -> PostFacts:
    """The message facts of a :class:`bot.models.Post`."""
    return PostFacts(id=post.id, account=post.account, title=post.title, link=post.link,
                     status=str(post.status), reason=post.reason)
