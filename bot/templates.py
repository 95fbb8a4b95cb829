"""The caption template: plain ``{name}`` placeholders, checked when the config loads.

A line whose placeholders all come out empty is left out (so ``Penulis: {author}``
disappears for an article without an author), and runs of blank lines fold to one.

This module imports nothing from :mod:`bot.config`, which imports it to check
``[caption] template``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter

from bot.limits import (
    MAX_CAPTION_CHARS,
    MAX_HASHTAG_CHARS,
    MAX_MENTIONS,
    count_hashtags,
    count_mentions,
    instagram_length,
)

VARIABLES: dict[str, str] = {
    "title": "the headline",
    "summary": "one or two sentences from the article, shortened first when room is tight",
    "link": "the article's URL with the [caption.utm] parameters",
    "category": "the primary category",
    "tags": "the other categories and tags, comma-separated",
    "author": "the author's name",
    "date": "the publication date in Indonesian, e.g. Senin, 28 Oktober 2024",
    "site_name": "[site] name",
    "site_domain": "the site's domain, e.g. editorialkaltim.com",
    "hashtags": "the hashtags, space-separated",
    "label": "the advertorial label for advertorials, empty otherwise",
}
REQUIRED = {
    "title": "the caption leads with the headline",
    "link": "the caption says where to read the full story",
}
# The most each variable that is never emptied may need. The writer keeps a caption
# inside these (it shortens an absurdly long headline, and falls back from an absurdly
# long link), so a template that fits with them always fits.
RESERVED = {"title": 250, "link": 500, "date": 40, "site_name": 60, "site_domain": 60}

_BLANK_RUN_RE = re.compile(r"\n{3,}")

Part = tuple[str, str | None]  # literal text, then the variable after it (if any)


@dataclass(frozen=True)
class Template:
    """A parsed caption template."""

    source: str
    lines: tuple[tuple[Part, ...], ...]

    @classmethod
    def parse(cls, source: str) -> Template:
        """Parse ``source``; raise ValueError naming the first bad placeholder."""
        lines = []
        for raw in source.split("\n"):
            try:
                parsed = list(Formatter().parse(raw))
            except ValueError as exc:
                raise ValueError(
                    f"bad template: {exc}; write {{{{ and }}}} for literal braces"
                ) from None
            parts: list[Part] = []
            for literal, name, spec, conversion in parsed:
                if name is not None:
                    _check_placeholder(name, spec or "", conversion)
                    if literal.endswith(("#", "@")):
                        raise ValueError(
                            f"'{literal[-1]}{{{name}}}' would add a hashtag or mention that "
                            f"the limits do not count: use {{hashtags}} for hashtags"
                        )
                parts.append((literal, name))
            lines.append(tuple(parts))
        return cls(source=source, lines=tuple(lines))

    @property
    def variables(self) -> frozenset[str]:
        """The variables the template uses."""
        return frozenset(name for line in self.lines for _, name in line if name)

    @property
    def literal(self) -> str:
        """The template's own text, without its placeholders."""
        return "\n".join("".join(literal for literal, _ in line) for line in self.lines)

    def count(self, name: str) -> int:
        """How many times the template uses the variable ``name``."""
        return sum(1 for line in self.lines for _, n in line if n == name)

    def render(self, values: Mapping[str, str]) -> str:
        """The caption text; lines whose variables are all empty are left out."""
        out = []
        for line in self.lines:
            names = [name for _, name in line if name]
            if names and not any(values.get(name) for name in names):
                continue
            out.append("".join(lit + (values.get(name, "") if name else "")
                               for lit, name in line).rstrip())
        return _BLANK_RUN_RE.sub("\n\n", "\n".join(out)).strip()


def _check_placeholder(name: str, spec: str, conversion: str | None) -> None:
    if not name:
        raise ValueError("empty {} placeholder: name the variable, e.g. {title}")
    if not name.isidentifier():
        raise ValueError(
            f"{{{name}}} is not a plain variable: only {{name}} placeholders are allowed"
        )
    if spec or conversion:
        shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        raise ValueError(f"{{{shown}}}: conversions and format specs are not supported")
    if name not in VARIABLES:
        hint = difflib.get_close_matches(name, list(VARIABLES), n=1)
        message = f"unknown variable {{{name}}}"
        if hint:
            message += f" (did you mean {{{hint[0]}}}?)"
        known = ", ".join(f"{{{v}}}" for v in VARIABLES)
        raise ValueError(f"{message}; the variables are {known}")


def check_template(source: str, *, max_hashtags: int, label: str) -> Template:
    """Parse the template and check that every caption made from it can fit Instagram."""
    template = Template.parse(source)
    for name, why in REQUIRED.items():
        if name not in template.variables:
            raise ValueError(f"missing {{{name}}}: {why}")
    literal = template.literal
    own_tags = count_hashtags(literal) + count_hashtags(label)
    if own_tags > max_hashtags:
        raise ValueError(
            f"cannot fit the hashtag limit: the template and label have {own_tags} hashtags "
            f"but caption.max_hashtags is {max_hashtags}"
        )
    own_mentions = count_mentions(literal) + count_mentions(label)
    if own_mentions > MAX_MENTIONS:
        raise ValueError(
            f"cannot fit Instagram's limit of {MAX_MENTIONS} @mentions: the template has "
            f"{own_mentions}"
        )
    length = instagram_length(literal)
    needed = sum(size * template.count(name) for name, size in RESERVED.items())
    needed += template.count("hashtags") * (max_hashtags - own_tags) * (MAX_HASHTAG_CHARS + 2)
    needed += (instagram_length(label) + 1) * max(1, template.count("label"))
    if length + needed > MAX_CAPTION_CHARS:
        raise ValueError(
            f"cannot fit Instagram's {MAX_CAPTION_CHARS:,} characters: the template's own "
            f"text is {length:,} characters and the headline, link, date, site name and "
            f"hashtags may need {needed:,} more"
        )
    return template
