"""Benchmark: card rendering, end to end (photo bytes -> decoded -> card -> JPEG bytes).

Run as ``python tests/bench/bench_cards.py [--runs N]``. It prints median and p95
milliseconds for (a) a 2000×1333 JPEG photo, (b) a 4032×3024 photo and (c) no photo,
and next to each the floor measured in the same run: decoding that photo in full and
encoding a 1080×1350 JPEG with the card's settings, which no renderer can beat by
much. Targets on the project's 2-core machine: (a) ≤ 60 ms, (b) ≤ 120 ms, (c) ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import imagekit  # noqa: E402
from PIL import Image  # noqa: E402

from bot.articles import Article  # noqa: E402
from bot.cards import CardRenderer, decode_image  # noqa: E402
from bot.config import CardConfig, SiteConfig  # noqa: E402

ARTICLE = Article(
    key="editorialkaltim.com#40010",
    feed="utama",
    link="https://editorialkaltim.com/jelang-pilkada-2024/",
    title="Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi dan Penanganan Konflik Sosial",
    published=datetime(2024, 10, 28, 3, 0, tzinfo=UTC),
    categories=("Kutim", "Pilkada 2024"),
)


def timings(task: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per call of ``task`` over ``runs`` calls, after two warm-up calls."""
    for _ in range(2):
        task()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        task()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(values: list[float]) -> str:
    """``median  p95`` in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms"


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    renderer = CardRenderer(CardConfig(), SiteConfig(), ZoneInfo("Asia/Makassar"))
    quality = renderer.config.quality
    encode_source = Image.new("RGB", (1080, 1350))
    encode_source.paste(imagekit.landscape((1080, 1350)))

    def encode_floor() -> bytes:
        buffer = io.BytesIO()
        encode_source.save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()

    print(f"card benchmark: {args.runs} runs each, Pillow {Image.__version__}")
    cases: list[tuple[str, bytes | None]] = [
        ("(a) 2000x1333 JPEG", imagekit.jpeg(imagekit.landscape((2000, 1333)))),
        ("(b) 4032x3024 JPEG", imagekit.jpeg(imagekit.landscape((4032, 3024)))),
        ("(c) no photo", None),
    ]
    encode = timings(encode_floor, args.runs)
    for name, data in cases:

        def card(data: bytes | None = data) -> bytes:
            photo = decode_image(data) if data is not None else None
            return renderer.render(ARTICLE, photo).to_jpeg()

        print(f"{name:20s} card   {summary(timings(card, args.runs))}")
        if data is not None:

            def decode(data: bytes = data) -> None:
                with Image.open(io.BytesIO(data)) as image:
                    image.load()

            print(f"{'':20s} floor  {summary(timings(decode, args.runs))}"
                  "   (full decode of the photo)")
        print(f"{'':20s} floor  {summary(encode)}   (encode a 1080x1350 JPEG)")
    # For information: the other layouts, from the (a) photo already decoded.
    photo = decode_image(cases[0][1] or b"")
    split = CardRenderer(CardConfig(layout="split"), SiteConfig(), ZoneInfo("Asia/Makassar"))
    others: list[tuple[str, Callable[[], bytes]]] = [
        ("split, decoded photo", lambda: split.render(ARTICLE, photo).to_jpeg()),
        ("story, decoded photo", lambda: renderer.render(ARTICLE, photo, story=True).to_jpeg()),
        ("story, no photo", lambda: renderer.render(ARTICLE, None, story=True).to_jpeg()),
    ]
    for name, task in others:
        print(f"{name:20s} card   {summary(timings(task, args.runs))}")


if __name__ == "__main__":
    main()
