"""The newsroom desk (``bot web``): an admin page in Bahasa Indonesia and ``/bio``.

A face, like the CLI: it calls the ``Bot`` facade and never touches the store.

- :mod:`bot.web.app`: the Starlette app, its routes, pages and actions;
- :mod:`bot.web.auth`: Argon2 passwords, signed session cookies, CSRF, login limits;
- :mod:`bot.web.middleware`: the session cookie and the security headers;
- :mod:`bot.web.bio`: the link-in-bio page, served and written as static files;
- :mod:`bot.web.render`: Jinja2 (autoescaped) templates, with Indonesian dates;
- :mod:`bot.web.texts`: the desk's words;
- ``templates/`` and ``static/`` ship in the package (no build step, no inline script).
"""

from __future__ import annotations
