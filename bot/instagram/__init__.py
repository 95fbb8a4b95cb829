"""Instagram through instagrapi: sessions, the bounded transport, errors, redaction.

- :mod:`bot.instagram.session`: the saved session, the client factory, ``bot login``;
- :mod:`bot.instagram.transport`: timeouts, one configure per call, the test seam;
- :mod:`bot.instagram.errors`: instagrapi's exceptions mapped onto :mod:`bot.errors`;
- secrets are kept out of logs by :mod:`bot.redact`.

The publisher itself is :class:`bot.publishers.instagram.InstagramPublisher`.
"""
