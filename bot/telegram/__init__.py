"""The Telegram face: alerts, failed posts, follow-ups, the digest and one-tap approvals.

:mod:`bot.telegram.client` is the typed Bot API client, :mod:`bot.telegram.messages`
the Indonesian texts, and :mod:`bot.telegram.worker` the two threads ``bot run``
starts. Nothing below the faces imports this package.
"""
