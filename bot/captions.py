"""Indonesian captions and alt text.

MINIMAL VERSION (issue 2): headline, the description as summary, the link with UTM
parameters and the fixed hashtags. The full caption writer (issue 4) replaces this
module and keeps its interface: ``CaptionWriter.write``, ``CaptionWriter.alt_text``
and ``CaptionWriter.advertorial_reason``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.articles import Article, plain_text
from bot.config import Config


@dataclass(frozen=True)
class Caption:
    """A rendered caption and the parts it was built from."""

    text: str
    summary: str
    link: str
    hashtags: tuple[str, ...]
    advertorial: bool = False


def link_with_utm(url: str, utm: dict[str, str]) -> str:
    """The article URL with the UTM parameters added, keeping its own query."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm]
    query.extend(utm.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class CaptionWriter:
    """Writes captions and alt text according to the ``[caption]`` template."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def advertorial_reason(self, article: Article) -> str | None:
        """Why this article is an advertorial, or None if it is not one."""
        return None

    def write(self, article: Article) -> Caption:
        """The caption for ``article``."""
        cfg = self.config.caption
        summary = plain_text(article.description_html)[:300]
        link = link_with_utm(article.link, cfg.utm)
        hashtags = tuple(f"#{h}" for h in cfg.hashtags[: cfg.max_hashtags])
        text = cfg.template.format(
            title=article.title, summary=summary, link=link, site_name=self.config.site.name,
            hashtags=" ".join(hashtags), category=article.category or "",
            tags=", ".join(article.tags), author=article.author or "", date="",
        )
        return Caption(text=text.strip(), summary=summary, link=link, hashtags=hashtags)

    def alt_text(self, article: Article, *, headline: str, photo_description: str = "") -> str:
        """Indonesian alt text carrying the headline as shown on the card."""
        return f"Kartu berita {self.config.site.name}: {headline}"
