"""Indonesian captions and alt text.

The caption leads with the headline, gives a one- or two-sentence summary cleaned of
WordPress boilerplate, says where to read the full story (with UTM parameters, and
that the clickable link is in the bio), and ends with normalised hashtags, all inside
Instagram's limits. Advertorials are labelled as Indonesian press ethics require.

- :mod:`bot.captions.summary`: HTML → prose paragraphs → summary;
- :mod:`bot.captions.text`: sentences, word-safe cuts;
- :mod:`bot.captions.hashtags`: hashtag normalisation and selection;
- :mod:`bot.captions.template`: the ``[caption] template`` and its load-time check;
- :mod:`bot.captions.writer`: :class:`CaptionWriter`, which puts them together.

Nothing in this package imports :mod:`bot.config` at run time: the config schema
imports :mod:`bot.captions.template` to check the template when it loads.
"""

from bot.captions.hashtags import build_hashtags, normalise_hashtag
from bot.captions.summary import Paragraph, paragraphs, summarize
from bot.captions.template import VARIABLES, Template, check_template
from bot.captions.writer import Caption, CaptionWriter, describe_photo, link_with_utm

__all__ = [
    "VARIABLES",
    "Caption",
    "CaptionWriter",
    "Paragraph",
    "Template",
    "build_hashtags",
    "check_template",
    "describe_photo",
    "link_with_utm",
    "normalise_hashtag",
    "paragraphs",
    "summarize",
]
