"""Hashtags from the configured tags and the article's categories and tags.

A term becomes a hashtag by dropping spaces and punctuation and keeping letters
(Indonesian or otherwise) and digits: ``Kutai Timur`` → ``KutaiTimur``,
``Covid-19`` → ``Covid19``, ``HUT ke-77 Kutim`` → ``HUTKe77Kutim``. A term written in
capitals is read as shouting, not as an acronym, for words longer than four letters:
``PILKADA KUTIM`` → ``PilkadaKutim`` while ``DPRD`` stays ``DPRD``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from bot.articles import is_placeholder_category as _is_placeholder
from bot.limits import normalise_hashtag


def _key(term: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFC", term).casefold() if c.isalnum())


def is_placeholder_category(term: str) -> bool:
    """Whether ``term`` is WordPress's default category ("Uncategorized"), which says nothing."""
    return _is_placeholder(term)


def build_hashtags(
    fixed: Iterable[str], terms: Iterable[str], mapping: Mapping[str, str], *, limit: int,
) -> tuple[str, ...]:
    """Fixed tags first, then the article's terms (mapped), de-duplicated, at most ``limit``.

    ``mapping`` maps a category or tag (matched case-insensitively, spaces and
    punctuation ignored) to the hashtag to use instead; an empty value drops the term.
    """
    lookup = {_key(k): normalise_hashtag(v) for k, v in mapping.items()}
    seen: set[str] = set()
    out: list[str] = []

    def add(tag: str) -> None:
        if tag and tag.casefold() not in seen and len(out) < limit:
            seen.add(tag.casefold())
            out.append("#" + tag)

    for tag in fixed:
        add(normalise_hashtag(tag))
    for term in terms:
        key = _key(term)
        if _is_placeholder(term):
            continue
        add(lookup[key] if key in lookup else normalise_hashtag(term))
    return tuple(out)
