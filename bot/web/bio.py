"""The public link-in-bio page: served at ``/bio`` and written as files by ``bot bio``.

Both come from one template, so the page on the WordPress site and the one the desk
serves never drift apart. Only ``posted`` posts are handed in (the facade's
``bio_posts``), newest first, one per article.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.captions import link_with_utm
from bot.config import Config
from bot.errors import NotFound
from bot.models import Post
from bot.web.render import STATIC_DIR, TEMPLATE_DIR, render

if TYPE_CHECKING:
    from bot.core import Bot


def bio_link(post: Post, config: Config) -> str:
    """The article link with the caption's UTM parameters and ``utm_medium=bio``."""
    utm = dict(config.caption.utm)
    utm.setdefault("utm_source", "instagram")
    utm["utm_medium"] = "bio"
    return link_with_utm(post.link, utm)


def bio_title(config: Config) -> str:
    """``[web] bio_title``, else ``<site name>: berita terbaru``."""
    return config.web.bio_title or f"{config.site.name}: berita terbaru"


@cache
def _page_version() -> str:
    # A new template or stylesheet changes every ETag, so browsers fetch the new look.
    digest = hashlib.sha256()
    for path in (TEMPLATE_DIR / "bio.html", STATIC_DIR / "bio.css"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def bio_etag(posts: Sequence[Post], config: Config) -> tuple[str, datetime | None]:
    """The page's ETag and Last-Modified time, from what it shows."""
    shown = [[p.id, p.title, p.link, p.updated_at.isoformat(),
              p.posted_at.isoformat() if p.posted_at else ""] for p in posts]
    payload = json.dumps([_page_version(), bio_title(config), config.site.name,
                          config.web.bio_limit, str(config.card.logo or ""), shown])
    etag = '"' + hashlib.sha256(payload.encode()).hexdigest()[:32] + '"'
    times = [p.updated_at for p in posts] + [p.posted_at for p in posts if p.posted_at]
    return etag, max(times) if times else None


@dataclass
class BioPage:
    """The bio page for some posted posts."""

    config: Config
    posts: Sequence[Post]
    now: datetime

    def html(self, *, static: str, image: Callable[[Post], str], logo: str | None) -> str:
        """The page; ``static`` prefixes the stylesheet, ``image`` gives each thumbnail URL."""
        items = [{"post": p, "link": bio_link(p, self.config), "image": image(p)}
                 for p in self.posts]
        site = self.config.site
        initials = "".join(w[0] for w in site.name.split()[:2]).upper() or "B"
        return render("bio.html", tz=self.config.tz, now=self.now, items=items,
                      title=bio_title(self.config), site=site, static=static, logo=logo,
                      initials=initials)


def write_bio(bot: Bot, out_dir: Path) -> tuple[Path, int]:
    """Write ``index.html``, ``bio.css``, the logo and the thumbnails into ``out_dir``.

    Returns the index file and the number of posts on it. Thumbnails that no post
    shows any more are removed, so the folder can be synced as it is.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    thumbs = out_dir / "thumbs"
    thumbs.mkdir(exist_ok=True)
    posts = bot.bio_posts()
    shown: list[Post] = []
    names: set[str] = set()
    for post in posts:
        try:
            source = bot.thumbnail(post.id, posted_only=True)
        except (OSError, NotFound):
            continue  # a card lost from the data dir: leave the post off, not the page
        name = f"{post.id}.jpg"
        shutil.copyfile(source, thumbs / name)
        names.add(name)
        shown.append(post)
    for old in thumbs.glob("*.jpg"):
        if old.name not in names:
            old.unlink()
    logo = None
    if bot.config.card.logo is not None:
        logo = "logo" + bot.config.card.logo.suffix.lower()
        shutil.copyfile(bot.config.card.logo, out_dir / logo)
    for name in ("bio.css", "favicon.svg"):
        shutil.copyfile(STATIC_DIR / name, out_dir / name)
    html = BioPage(bot.config, shown, bot.clock()).html(
        static="", image=lambda p: f"thumbs/{p.id}.jpg", logo=logo)
    index = out_dir / "index.html"
    tmp = index.with_name("index.html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(index)
    return index, len(shown)
