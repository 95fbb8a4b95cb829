"""Rendering a post: card, story card, caption, alt text and preflight together."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.articles import Article
from bot.config import load_config
from bot.http import HttpClient
from bot.pipeline.render import Renderer, card_view
from tests.feedkit import SEED_BODY, write_config


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    path = tmp_path / "bot.toml"
    write_config(path, "http://127.0.0.1:9/feed/")
    config = load_config(path)
    return Renderer(config, tmp_path / "var", HttpClient(config.fetch))


def seed(**overrides: object) -> Article:
    values: dict[str, object] = dict(
        key="editorialkaltim.com#40010", feed="utama",
        link="https://editorialkaltim.com/2024/10/28/jelang-pilkada/",
        title="Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi dan Penanganan Konflik "
              "Sosial", categories=("Kutim", "Pilkada 2024"), content_html=SEED_BODY)
    values.update(overrides)
    return Article(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("categories", "body", "label"),
    [
        (("Kutim", "Pilkada 2024"), SEED_BODY, "Advertorial"),  # the "(Roro/adv)" byline
        (("Kutim", "Advertorial"), "<p>Isi berita.</p>", "Advertorial"),
        (("Kutim", "Pilkada 2024"), "<p>Isi berita biasa. (Roro)</p>", "Kutim"),
    ],
)
def test_the_card_labels_advertorials(renderer: Renderer, categories: tuple[str, ...],
                                      body: str, label: str) -> None:
    article = seed(categories=categories, content_html=body)
    shown = card_view(article, advertorial=renderer.captions.write(article).advertorial)
    assert shown.category == label
    assert "Kutim" in (shown.category, *shown.tags)


def test_render_writes_card_story_caption_and_alt_text(renderer: Renderer,
                                                       tmp_path: Path) -> None:
    rendered = renderer.render(seed(), out_dir=tmp_path / "cards", basename="1-jelang",
                               story=True)
    assert rendered.card == tmp_path / "cards" / "1-jelang.jpg" and rendered.card.is_file()
    assert rendered.story is not None and rendered.story.name == "1-jelang.story.jpg"
    assert rendered.caption.text.startswith("[ADVERTORIAL] Jelang Pilkada 2024")
    assert rendered.headline in rendered.alt_text
    # No photo in the article and its page unreachable: the branded card, with the reason.
    assert "no usable photo" in rendered.notes_text
