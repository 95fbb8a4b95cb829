"""Indonesian captions and alt text.

The caption leads with the headline, gives a one- or two-sentence summary cleaned of
WordPress boilerplate, says where to read the full story (with UTM parameters, and
that the clickable link is in the bio), and ends with normalised hashtags, all inside
Instagram's limits. Advertorials are labelled as Indonesian press ethics require.

- :mod:`bot.captions.summary`: HTML → prose paragraphs → summary;
- :mod:`bot.captions.text`: sentences, word-safe cuts;
- :mod:`bot.captions.hashtags`: hashtag normalisation and selection;
- :mod:`bot.captions.advertorial`: whether an article is an advertorial (a pure function);
- :mod:`bot.captions.writer`: :class:`CaptionWriter`, which puts them together.

The template language (:mod:`bot.templates`) and Instagram's limits (:mod:`bot.limits`)
are base modules, so the config schema checks a template without importing this package.
"""

from bot.captions.advertorial import advertorial_reason
from bot.captions.hashtags import build_hashtags
from bot.captions.summary import Paragraph, paragraphs, summarize
from bot.captions.writer import Caption, CaptionWriter, describe_photo, link_with_utm
from bot.limits import normalise_hashtag
from bot.templates import VARIABLES, Template, check_template

__all__ = [
    "VARIABLES",
    "Caption",
    "CaptionWriter",
    "Paragraph",
    "Template",
    "advertorial_reason",
    "build_hashtags",
    "check_template",
    "describe_photo",
    "link_with_utm",
    "normalise_hashtag",
    "paragraphs",
    "summarize",
]
