"""Whether an article is an advertorial: a pure function of the article and the markers.

Indonesian press ethics (Dewan Pers, Pedoman Pemberitaan Media Siber, point 6) want paid
content marked, so the decision step can skip advertorials and the caption and card
label them. Deciding needs no renderer: it reads the article's text, categories and the
configured ``[caption] advertorial_markers``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.articles import Article
from bot.captions.summary import visible_text

_PAREN_RE = re.compile(r"\(([^()]{1,60})\)")
_ADV_WORDS = frozenset({"adv", "advertorial"})


def advertorial_reason(article: Article, markers: Sequence[str] = ()) -> str | None:
    """Why this article is an advertorial (e.g. ``byline "(Roro/adv)"``), or None."""
    texts = [visible_text(article.content_html), visible_text(article.description_html)]
    for text in texts:
        for inner in _PAREN_RE.findall(text):
            if {part.strip().casefold() for part in inner.split("/")} & _ADV_WORDS:
                return f'byline "({inner.strip()})"'
    for term in article.categories:
        folded = term.strip().casefold()
        if folded in _ADV_WORDS or folded.startswith("advertorial "):
            return f'category "{term}"'
    for marker in markers:
        needle = marker.casefold()
        if needle in article.title.casefold():
            return f'marker "{marker}" in the title'
        for term in article.categories:
            if needle in term.casefold():
                return f'marker "{marker}" in category "{term}"'
        if any(needle in text.casefold() for text in texts):
            return f'marker "{marker}" in the text'
    return None
