"""Instagram through instagrapi, in one place.

- :mod:`~bot.publishers.instagram.publisher`: the publisher (feed post, story, the
  exactly-once check);
- :mod:`~bot.publishers.instagram.session`: the saved session, the client factory,
  ``bot login``;
- :mod:`~bot.publishers.instagram.transport`: timeouts, one configure per call, the
  test seam;
- :mod:`~bot.publishers.instagram.errors`: instagrapi's exceptions mapped onto
  :mod:`bot.errors`.

Nothing here is imported until an account uses ``publisher = "instagram"``:
instagrapi is heavy, and outbox-only installs never need it.
"""
