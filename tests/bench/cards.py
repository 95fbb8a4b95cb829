"""Case ``card``: photo bytes → decoded → card → JPEG bytes, next to the floor.

The floor is measured in the same run, its runs interleaved with the card's (this
machine's speed drifts within a minute): decoding the photo (in full for 2000×1333;
at the DCT-scaled size the card needs for 4032×3024, as ``Image.draft`` does) plus
encoding one 1080×1350 JPEG with the card's settings. No renderer can beat it by
much. The figures are the rendering thread's CPU time (wall-clock is kept in the
JSON): a shared machine's other load does not count against the code.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from bot.articles import Article
from bot.cards import POST_SIZE, CardRenderer, decode_image
from bot.config import CardConfig, SiteConfig
from tests import imagekit
from tests.bench.common import Figure, timed, timed_together

ARTICLE = Article(
    key="editorialkaltim.com#40010",
    feed="utama",
    link="https://editorialkaltim.com/jelang-pilkada-2024/",
    title="Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi dan Penanganan Konflik Sosial",
    published=datetime(2024, 10, 28, 3, 0, tzinfo=UTC),
    categories=("Kutim", "Pilkada 2024"),
)
TZ = ZoneInfo("Asia/Makassar")


def run(*, tiny: bool = False, work: Path | None = None, runs: int = 40) -> list[Figure]:
    """Time each card against its floor."""
    runs = 1 if tiny else runs
    warmup = 1 if tiny else 3
    renderer = CardRenderer(CardConfig(), SiteConfig(), TZ)
    quality = renderer.config.quality
    encode_source = imagekit.landscape(POST_SIZE)

    def encode() -> bytes:
        buffer = io.BytesIO()
        encode_source.save(buffer, "JPEG", quality=quality, progressive=False, optimize=False)
        return buffer.getvalue()

    def card(data: bytes | None, *, story: bool = False,
             using: CardRenderer = renderer) -> Callable[[], bytes]:
        def task() -> bytes:
            photo = decode_image(data) if data is not None else None
            return using.render(ARTICLE, photo, story=story).to_jpeg()
        return task

    def decode(data: bytes, *, draft: bool) -> Callable[[], None]:
        def task() -> None:
            with Image.open(io.BytesIO(data)) as image:
                if draft:
                    image.draft("RGB", POST_SIZE)
                image.load()
        return task

    figures: list[Figure] = []
    photos = (("2000×1333", (2000, 1333), False, 2.0),
              ("4032×3024", (4032, 3024), True, 1.5))
    encodes: tuple[list[float], list[float]] = ([], [])
    measured = []
    for label, size, draft, factor in photos:
        data = imagekit.jpeg(imagekit.landscape(size))
        # The card and its floor run interleaved: each sees the machine the other saw.
        samples = timed_together({"encode": encode, "decode": decode(data, draft=draft),
                                  "card": card(data)}, runs, warmup=warmup)
        encodes[0].extend(samples["encode"][0])
        encodes[1].extend(samples["encode"][1])
        measured.append((label, draft, factor, samples))
    figures.append(Figure("card", "floor: encode a 1080×1350 JPEG", "ms", encodes[0],
                          wall=encodes[1]))
    for label, draft, factor, samples in measured:
        (decode_cpu, decode_wall), (cpu, wall) = samples["decode"], samples["card"]
        floor = statistics.median(decode_cpu) + statistics.median(samples["encode"][0])
        how = "draft (DCT-scaled) decode" if draft else "full decode"
        figures.append(Figure("card", f"floor: {label} {how}", "ms", decode_cpu,
                              wall=decode_wall))
        figures.append(Figure(
            "card", f"card, {label} photo", "ms", cpu, target=factor * floor,
            target_text=f"≤ {factor:g}× floor ({how} + encode = {floor:.1f} ms)",
            note=f"{statistics.median(cpu) / floor:.2f}× its floor", wall=wall))
    photo_bytes = imagekit.jpeg(imagekit.landscape((2000, 1333)))
    cpu, wall = timed(card(None), runs, warmup=warmup)
    figures.append(Figure("card", "card, no photo", "ms", cpu, target=15.0,
                          target_text="≤ 15 ms", wall=wall))
    split = CardRenderer(CardConfig(layout="split"), SiteConfig(), TZ)
    for name, task in (("story card, 2000×1333 photo", card(photo_bytes, story=True)),
                       ("story card, no photo", card(None, story=True)),
                       ("split card, 2000×1333 photo", card(photo_bytes, using=split))):
        cpu, wall = timed(task, runs, warmup=warmup)
        figures.append(Figure("card", name, "ms", cpu, wall=wall))
    return figures
