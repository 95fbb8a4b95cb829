"""The bot's benchmark: ``python -m tests.bench`` (see README "Performance").

Each case lives in its own module and returns :class:`~tests.bench.common.Figure`s:

- ``cards``: card rendering against its decode + encode floor;
- ``polls``: a poll answered 304, a byte-identical 200, one new item, a burst of 100;
- ``publish``: the bot's own time per post against the Instagram emulator;
- ``daemon``: ``bot run`` at rest (memory, CPU) and at scale (3,000 feeds: CPU, lag);
- ``push``: ``POST /hooks/wordpress`` → the post in the outbox.

Everything runs on loopback: tests/feedkit.py serves the feeds, the outbox publisher
writes files, tests/ig_emulator.py plays Instagram. It is not part of the default
test run; tests/test_bench.py runs every case once at a tiny size.
"""
