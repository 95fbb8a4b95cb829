"""A store seeded with posts in every status, for the desk's route and browser tests.

The posts come through the real pipeline: a WordPress feed served from 127.0.0.1 is
polled (seen, filtered, pending_approval, queued), the outbox publishes some (posted),
a human skips one. ``failed``, ``publishing`` and ``expired`` need a broken upload, a
dead process or a day's wait, so the seed moves those posts with the store's own
compare-and-set transition, as the publish step would.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher

from bot.config import load_config
from bot.core import Bot
from bot.models import Status
from bot.store import PostFilter, Store
from tests.feedkit import FeedServer, Item, Route, rss, write_config
from tests.imagekit import jpeg, landscape

ADMIN_USER = "redaksi"
ADMIN_PASSWORD = "kata-sandi-uji-yang-panjang"
# A low-cost hash keeps the tests quick; production hashes use argon2-cffi's defaults.
ADMIN_HASH = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(ADMIN_PASSWORD)
SECRET_KEY = "uji-" + "k" * 40

XSS_TITLE = "<script>alert(1)</script> Banjir rob di Samarinda"
XSS_ERROR = '<img src=x onerror="alert(2)"> upload rejected: bad image'
XSS_CAPTION = "Keterangan <script>alert(3)</script> uji"

NOW = datetime.now(UTC)


def web_env(data_dir: Path, config: Path) -> dict[str, str]:
    """The environment variables ``bot web`` needs, for a subprocess or monkeypatch."""
    return {"BOT_DATA_DIR": str(data_dir), "BOT_CONFIG": str(config),
            "BOT_SECRET_KEY": SECRET_KEY, "BOT_ADMIN_USER": ADMIN_USER,
            "BOT_ADMIN_PASSWORD_HASH": ADMIN_HASH}


def _items(server: FeedServer) -> list[Item]:
    titles = [
        "Pemkab Kutim resmikan jembatan baru di Sangatta Utara",  # queued
        "DPRD Kaltim bahas anggaran pendidikan 2027",  # queued
        "Jelang Pilkada, KPU Kutim gelar simulasi pemungutan suara",  # pending (approval)
        "Pilkada damai: tokoh adat Dayak Basap serukan persatuan",  # pending (approval)
        "Lowongan kerja: pabrik sawit di Bengalon buka 200 posisi",  # filtered
        XSS_TITLE.replace("<", "&amp;lt;").replace(">", "&amp;gt;"),  # posted
        "Harga cabai di Pasar Segiri turun jelang akhir tahun",  # posted
        "Festival Erau 2026 menarik ribuan wisatawan ke Tenggarong",  # posted
        "Jalan poros Samarinda–Bontang kembali dibuka setelah longsor",  # failed
        "BMKG: hujan lebat diperkirakan guyur Kaltim sepekan",  # publishing
        "Tim SAR temukan nelayan hilang di perairan Muara Badak",  # expired
        "Pelajar Kutim juara olimpiade sains nasional",  # skipped
        "Arsip: peresmian pelabuhan Maloy",  # seen (beyond the backlog)
        "Arsip: rapat paripurna DPRD awal tahun",  # seen
    ]
    items = []
    for i, title in enumerate(titles):
        # Every link and photo is on the local server: nothing leaves the machine.
        image = None
        if i % 3 != 2:
            image = f"/foto/{i}.jpg"
            server.routes[image] = Route(body=jpeg(landscape((1400, 933), seed=i + 3)),
                                         content_type="image/jpeg")
        items.append(Item(post_id=50000 - i, title=title, slug=f"berita-{50000 - i}",
                          published=NOW - timedelta(minutes=10 * (i + 1)),
                          categories=("Kutim",) if i % 2 else ("Samarinda",),
                          link=server.url(f"/2026/berita-{50000 - i}/"),
                          image=server.url(image) if image else None))
    return items


def clone(seeded: Seeded, source: Path, target: Path) -> Seeded:
    """A copy of a seeded data dir (store, cards) at ``target``, with the posts' file
    paths pointing into the copy: seeding once per module keeps the tests quick."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    store = Store.for_data_dir(target)
    try:
        for post in store.posts(PostFilter(limit=None)):
            paths = {}
            for name in ("card_path", "story_path"):
                value = getattr(post, name)
                if value:
                    paths[name] = str(target / Path(value).relative_to(source))
            if paths:
                store.update_post(post.id, **paths)
    finally:
        store.close()
    return seeded


@dataclass(frozen=True)
class Seeded:
    """The seeded bot's config file and one post id per status."""

    config: Path
    ids: dict[str, int]


def seed(tmp_path: Path, data_dir: Path, server: FeedServer) -> Seeded:
    """Poll a local feed, publish, skip and move posts until every status has one."""
    server.routes["/feed/"] = Route(body=rss(_items(server)))
    config_path = tmp_path / "bot.toml"
    write_config(config_path, server.url("/feed/"), feeds_extra=(
        'backlog = 12\nexclude_keywords = ["lowongan"]'),
        account_extra="story = true",
        extra='[schedule.approval]\nkeywords = ["pilkada"]\n\n'
              '[web]\nbio_title = "Editorial Kaltim: berita pilihan"\n')
    bot = Bot(load_config(config_path), data_dir=data_dir)
    try:
        bot.poll()
        by_title = {p.title: p for p in bot.posts(PostFilter(limit=None))}

        def pid(fragment: str) -> int:
            return next(p.id for t, p in by_title.items() if fragment in t)

        ids = {
            "queued": pid("jembatan baru"),
            "pending_approval": pid("simulasi pemungutan"),
            "filtered": pid("Lowongan kerja"),
            "posted": pid("Banjir rob"),
            "failed": pid("poros Samarinda"),
            "publishing": pid("hujan lebat"),
            "expired": pid("nelayan hilang"),
            "skipped": pid("olimpiade sains"),
            "seen": pid("pelabuhan Maloy"),
        }
        for fragment in ("Banjir rob", "Harga cabai", "Festival Erau"):
            bot.publishing.publish_post(bot.post(pid(fragment)), actor="scheduler")
        bot.skip(ids["skipped"], reason="berita sudah basi", actor="cli:seed")
        store = bot.store
        now = datetime.now(UTC)
        store.transition(ids["failed"], Status.FAILED, expect=[Status.QUEUED],
                         actor="publisher", at=now, reason=XSS_ERROR)
        store.transition(ids["publishing"], Status.PUBLISHING, expect=[Status.QUEUED],
                         actor="scheduler", at=now, reason="uploading",
                         publishing_at=now, publishing_by="elsewhere:1")
        store.transition(ids["expired"], Status.EXPIRED, expect=[Status.QUEUED],
                         actor="scheduler", at=now,
                         reason="older than max_age 24h when its turn came")
        statuses = {s: bot.post(i).status for s, i in ids.items()}
        assert statuses == {s: Status(s) for s in ids}, statuses
        return Seeded(config=config_path, ids=ids)
    finally:
        bot.close()
