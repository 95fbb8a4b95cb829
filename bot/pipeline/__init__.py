"""The steps a post travels through, in order.

1. :mod:`~bot.pipeline.poll`: fetch each feed, identify its articles, record them;
2. :mod:`~bot.pipeline.decide`: pure functions that say what becomes of an article
   for an account (seen, filtered, skipped, pending approval, queued);
3. :mod:`~bot.pipeline.render`: card, story card, caption and alt text, then preflight;
4. :mod:`~bot.pipeline.publish`: which post goes next, the upload, the error policy and
   the exactly-once check.

:mod:`~bot.pipeline.preview` runs steps 1 and 3 without the store.

A step is handed the parts it uses (store, clock, config, http, alerter, publishers);
it never imports :mod:`bot.core`, the facade that builds it.
"""
