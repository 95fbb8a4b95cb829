"""Matching articles against the team's rules: feed filters, approval and priority.

Categories match case-insensitively and exactly ("Kutim" matches "kutim", not
"Kutim Selatan"). Keywords match whole words or phrases in the headline and the
summary, case-insensitively ("pilkada" matches "Pilkada 2024", not "prapilkada").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.articles import Article, plain_text
from bot.config import ApprovalRule, FeedConfig, PriorityRule


@dataclass(frozen=True)
class Match:
    """Which rule matched, for the post's reason: ``exclude_categories: 'Opini'``."""

    rule: str
    value: str

    def __str__(self) -> str:
        return f"{self.rule} {self.value!r}"


@lru_cache(maxsize=512)
def _keyword_re(keyword: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _text(article: Article) -> str:
    return f"{article.title}\n{plain_text(article.description_html)}"


def match_category(article: Article, categories: Iterable[str]) -> str | None:
    """The first of ``categories`` that the article has, or None."""
    have = {c.casefold() for c in article.categories}
    for category in categories:
        if category.casefold() in have:
            return category
    return None


def match_keyword(article: Article, keywords: Iterable[str]) -> str | None:
    """The first of ``keywords`` found in the headline or summary, or None."""
    text = _text(article)
    for keyword in keywords:
        if keyword.strip() and _keyword_re(keyword.strip()).search(text):
            return keyword
    return None


def filter_match(article: Article, feed: FeedConfig) -> Match | None:
    """Why the feed's filters drop this article, or None if it passes."""
    prefix = f"feeds[{feed.name}]"
    if feed.include_categories and not match_category(article, feed.include_categories):
        return Match(f"{prefix}.include_categories", ", ".join(feed.include_categories))
    if feed.include_keywords and not match_keyword(article, feed.include_keywords):
        return Match(f"{prefix}.include_keywords", ", ".join(feed.include_keywords))
    if found := match_category(article, feed.exclude_categories):
        return Match(f"{prefix}.exclude_categories", found)
    if found := match_keyword(article, feed.exclude_keywords):
        return Match(f"{prefix}.exclude_keywords", found)
    return None


def approval_match(article: Article, rule: ApprovalRule) -> Match | None:
    """Why the article needs a human's approval, or None."""
    if found := match_category(article, rule.categories):
        return Match("schedule.approval.categories", found)
    if found := match_keyword(article, rule.keywords):
        return Match("schedule.approval.keywords", found)
    return None


def priority_match(
    article: Article, rules: Sequence[PriorityRule]
) -> tuple[int, PriorityRule, Match] | None:
    """The first priority rule the article matches: its index, the rule and why."""
    for index, rule in enumerate(rules):
        if found := match_category(article, rule.categories):
            return index, rule, Match(f"schedule.priority[{index}].categories", found)
        if found := match_keyword(article, rule.keywords):
            return index, rule, Match(f"schedule.priority[{index}].keywords", found)
    return None


def priority_value(article: Article, rules: Sequence[PriorityRule]) -> int:
    """A sort key for the queue: earlier rules rank higher; 0 means no priority."""
    found = priority_match(article, rules)
    return 0 if found is None else len(rules) - found[0]
