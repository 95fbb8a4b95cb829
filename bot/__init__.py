"""Editorial Kaltim news-to-Instagram syndication bot."""

__version__ = "0.1.0"
