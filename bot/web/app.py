"""The desk's Starlette app: routes, login, CSRF, and the pages and actions.

Every handler reads through the ``Bot`` facade and acts through its operations; none
writes SQL or touches the store's tables. The facade is synchronous (SQLAlchemy
Core), so handlers run its calls in Starlette's thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.errors import BotError, InvalidAction, NotFound, PreflightError
from bot.models import FollowupState, Post
from bot.shapes import posts_csv
from bot.store import PostFilter
from bot.web.auth import LoginLimiter, Sessions, WebSettings, csrf_ok, new_csrf_token
from bot.web.bio import BioPage, bio_etag
from bot.web.hooks import HookLimiter, WordPressHook
from bot.web.middleware import SecurityHeadersMiddleware, SessionMiddleware, session_of
from bot.web.render import STATIC_DIR, render
from bot.web.texts import ACTIONS_BY_STATUS, STATUS_LABELS

if TYPE_CHECKING:
    from bot.core import Bot

log = logging.getLogger(__name__)

PAGE_SIZE = 50
FOLLOWUP_DONE = {
    "update_caption": "Keterangan di Instagram diperbarui dengan judul baru dan baris ralat.",
    "archive": "Posting Instagram diarsipkan (hanya saya).",
    "dismiss": "Tindak lanjut diabaikan; posting Instagram tidak diubah.",
}
P = ParamSpec("P")
T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]


async def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a facade call in the thread pool (it does blocking database work)."""
    return await run_in_threadpool(fn, *args, **kwargs)


class Desk:
    """The handlers, bound to one bot, its settings and the login limiter."""

    def __init__(self, bot: Bot, settings: WebSettings, limiter: LoginLimiter) -> None:
        self.bot = bot
        self.settings = settings
        self.limiter = limiter
        self.tz = bot.config.tz

    # -- helpers -----------------------------------------------------------------

    def page(self, request: Request, template: str, *, status_code: int = 200,
             **context: Any) -> HTMLResponse:
        """Render a desk page with the shared context (user, CSRF token, flash messages)."""
        session = session_of(request.scope)
        if "csrf" not in session:
            session["csrf"] = new_csrf_token()
        flashes = session.pop("flash", [])
        html = render(template, tz=self.tz, now=self.bot.clock(), site=self.bot.config.site,
                      user=session.get("user"), csrf=session["csrf"], flashes=flashes,
                      path=request.url.path, **context)
        return HTMLResponse(html, status_code=status_code)

    @staticmethod
    def flash(request: Request, kind: str, text: str) -> None:
        """Queue a message for the next page the browser shows."""
        session = session_of(request.scope)
        session["flash"] = [*session.get("flash", []), [kind, text]]

    def admin(self, handler: Handler) -> Handler:
        """Only for a logged-in admin; POSTs must also carry the session's CSRF token."""

        async def guarded(request: Request) -> Response:
            session = session_of(request.scope)
            user = session.get("user")
            if not user or not self.settings.login_enabled:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse("/login?" + urlencode({"next": target}),
                                        status_code=303)
            if request.method == "POST":
                form = await request.form()
                request.state.form = form
                if not csrf_ok(session, _field(form, "csrf_token")):
                    return self.page(request, "error.html", status_code=403,
                                     title="Formulir kedaluwarsa",
                                     message="Token formulir tidak cocok dengan sesi Anda, "
                                             "jadi tidak ada yang diubah. Muat ulang halaman "
                                             "lalu coba lagi.")
            request.state.user = user
            return await handler(request)

        return guarded

    def actor(self, request: Request) -> str:
        """``web:<username>``: who the event log records."""
        return f"web:{request.state.user}"

    # -- public ------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        """Store and poll health as JSON; 503 when the store or the polls are down."""
        health = await call(self.bot.health)
        return JSONResponse(health, status_code=200 if health["ok"] else 503,
                            headers={"cache-control": "no-store"})

    async def bio(self, request: Request) -> Response:
        """The public link-in-bio page: the newest posted posts, with conditional GET."""
        posts = await call(self.bot.bio_posts)
        etag, modified = bio_etag(posts, self.bot.config)
        headers = {"etag": etag, "cache-control": "public, max-age=60"}
        if modified is not None:
            headers["last-modified"] = _http_date(modified)
        if _not_modified(request, etag, modified):
            return Response(status_code=304, headers=headers)
        logo = "/bio/logo" if self.bot.config.card.logo else None
        html = BioPage(self.bot.config, posts, now=self.bot.clock()).html(
            static="/static/", logo=logo,
            image=lambda p: f"/posts/{p.id}/card.jpg?size=thumb&v={_version(p)}")
        return HTMLResponse(html, headers=headers)

    async def logo(self, request: Request) -> Response:
        """The site logo from ``[card] logo``, for the bio page."""
        logo = self.bot.config.card.logo
        if logo is None:
            raise HTTPException(404, "Tidak ada logo")
        return FileResponse(logo, headers={"cache-control": "public, max-age=86400"})

    async def image(self, request: Request) -> Response:
        """A post's card or story by id: full size for admins, thumbnails of posted posts
        for anyone (the bio page's)."""
        post_id = int(request.path_params["post_id"])
        story = request.path_params["kind"] == "story"
        thumb = request.query_params.get("size") == "thumb"
        session = session_of(request.scope)
        is_admin = bool(session.get("user")) and self.settings.login_enabled
        try:
            if thumb and not story:
                path = await call(self.bot.thumbnail, post_id, posted_only=not is_admin)
            elif is_admin:
                path = await call(self.bot.image_file, post_id, story=story)
            else:
                path = None
        except NotFound:
            path = None
        if path is None:
            if not is_admin:
                # The same answer for every id: an outsider learns nothing about posts.
                return RedirectResponse("/login", status_code=303)
            raise HTTPException(404, "Gambar tidak ditemukan")
        cache = "public, max-age=86400" if thumb and not is_admin else "private, max-age=300"
        return FileResponse(path, media_type="image/jpeg", headers={"cache-control": cache})

    # -- login -------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        """The login form, and checking it (rate-limited per client and per user)."""
        session = session_of(request.scope)
        target = _local_path(request.query_params.get("next"))
        if request.method == "GET":
            if session.get("user") and self.settings.login_enabled:
                return RedirectResponse(target, status_code=303)
            return self.page(request, "login.html", next=target, username="",
                             disabled=not self.settings.login_enabled)
        form = await request.form()
        username = (_field(form, "username") or "").strip()
        password = _field(form, "password") or ""
        target = _local_path(_field(form, "next"))
        if not csrf_ok(session, _field(form, "csrf_token")):
            return self.page(request, "login.html", status_code=403, next=target,
                             username=username, disabled=False,
                             error="Formulir kedaluwarsa. Silakan coba lagi.")
        if not self.settings.login_enabled:
            return self.page(request, "login.html", status_code=403, next=target,
                             username=username, disabled=True)
        client = request.client.host if request.client else "unknown"
        wait = self.limiter.retry_after(client, username)
        if wait:
            minutes = max(1, -(-wait // 60))
            limited = self.page(request, "login.html", status_code=429, next=target,
                                username=username, disabled=False,
                                error=f"Terlalu banyak percobaan masuk yang gagal. Coba lagi "
                                      f"dalam {minutes} menit.")
            limited.headers["retry-after"] = str(wait)
            return limited
        ok = await call(self.settings.check_login, username, password)
        if not ok:
            self.limiter.failed(client, username)
            log.warning("failed desk login for %r from %s", username[:64], client)
            return self.page(request, "login.html", status_code=401, next=target,
                             username=username, disabled=False,
                             error="Nama pengguna atau kata sandi salah.")
        self.limiter.succeeded(client)
        session.replace(Sessions(self.settings).login(username))
        log.info("desk login: %s from %s", username, client)
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        """End the session (POST with the CSRF token)."""
        session = session_of(request.scope)
        form = await request.form()
        if not csrf_ok(session, _field(form, "csrf_token")):
            return self.page(request, "error.html", status_code=403,
                             title="Formulir kedaluwarsa",
                             message="Token formulir tidak cocok. Muat ulang lalu coba lagi.")
        session.replace({})
        return RedirectResponse("/login", status_code=303)

    # -- pages -------------------------------------------------------------------

    async def dashboard(self, request: Request) -> Response:
        """Feeds, accounts, the queue with expected times, open alerts, follow-ups."""
        status = await call(self.bot.status)
        queue = await call(self.bot.queue_forecast)
        followups = await call(self.bot.followups, state=FollowupState.OPEN)
        titles = {f.post_id: (await call(self.bot.post, f.post_id)).title for f in followups}
        return self.page(request, "dashboard.html", status=status, queue=queue,
                         followups=followups, followup_titles=titles)

    def _filters(self, request: Request) -> tuple[PostFilter, dict[str, Any], list[str]]:
        params = request.query_params
        problems: list[str] = []
        statuses = [s for s in params.getlist("status") if s in STATUS_LABELS]
        problems += [f"Status tidak dikenal: {s}" for s in params.getlist("status")
                     if s and s not in STATUS_LABELS]
        feed = params.get("feed") or None
        account = params.get("account") or None
        q = (params.get("q") or "").strip()[:200] or None
        since = _parse_day(params.get("since"), "sejak", problems)
        until = _parse_day(params.get("until"), "sampai", problems)
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        tz = self.tz
        filters = PostFilter(
            status=tuple(statuses), feed=feed, account=account, q=q,
            since=datetime.combine(since, time(0), tzinfo=tz) if since else None,
            until=(datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz)
                   if until else None),
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        shown = {"status": statuses, "feed": feed or "", "account": account or "",
                 "q": q or "", "since": since.isoformat() if since else "",
                 "until": until.isoformat() if until else "", "page": page}
        return filters, shown, problems

    async def posts(self, request: Request) -> Response:
        """The post log: filters, title search, paging, thumbnails."""
        filters, shown, problems = self._filters(request)
        posts = await call(self.bot.posts, filters)
        total = await call(self.bot.count_posts, filters)
        pages = max(1, -(-total // PAGE_SIZE))
        base = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

        def page_link(number: int) -> str:
            return "/posts?" + urlencode([*base, ("page", str(number))])

        csv_link = "/posts.csv" + ("?" + urlencode(base) if base else "")
        return self.page(request, "posts.html", posts=posts, total=total, shown=shown,
                         problems=problems, pages=pages, page_link=page_link,
                         csv_link=csv_link, feeds=[f.name for f in self.bot.config.feeds],
                         accounts=[a.name for a in self.bot.config.accounts])

    async def posts_csv(self, request: Request) -> Response:
        """The post log with the same filters, as CSV (every matching post)."""
        filters, _, problems = self._filters(request)
        if problems:
            return Response("; ".join(problems) + "\n", status_code=400,
                            media_type="text/plain; charset=utf-8")
        posts = await call(self.bot.posts, replace(filters, limit=None, offset=0))
        stamp = self.bot.clock().astimezone(self.tz).strftime("%Y%m%d-%H%M")
        return Response(posts_csv(posts, self.tz), media_type="text/csv; charset=utf-8",
                        headers={
            "content-disposition": f'attachment; filename="posts-{stamp}.csv"'})

    async def post(self, request: Request, *, status_code: int = 200,
                   edit: dict[str, str] | None = None, error: str | None = None) -> Response:
        """One post: card and story full size, caption, alt text, timeline, errors."""
        post_id = int(request.path_params["post_id"])
        try:
            post = await call(self.bot.post, post_id)
        except NotFound:
            return self.page(request, "error.html", status_code=404,
                             title="Posting tidak ditemukan",
                             message=f"Tidak ada posting dengan nomor {post_id}.")
        events = await call(self.bot.timeline, post_id)
        followups = await call(self.bot.followups, post_id=post_id)
        form = edit or {"caption": post.caption or "", "alt_text": post.alt_text or "",
                        "headline": post.headline}
        return self.page(request, "post.html", status_code=status_code, post=post,
                         events=events, actions=ACTIONS_BY_STATUS.get(post.status, ()),
                         edit=form, edit_error=error, version=_version(post),
                         followups=followups)

    # -- actions -----------------------------------------------------------------

    async def action(self, request: Request) -> Response:
        """approve, skip, retry, publish (post now), edit, followup: POST only."""
        post_id = int(request.path_params["post_id"])
        name = request.path_params["action"]
        form: FormData = request.state.form
        actor = self.actor(request)
        reason = (_field(form, "reason") or "").strip()[:500]
        version = _field(form, "version")
        back = RedirectResponse(f"/posts/{post_id}", status_code=303)
        try:
            post = await call(self.bot.post, post_id)
        except NotFound:
            self.flash(request, "error", f"Tidak ada posting dengan nomor {post_id}.")
            return RedirectResponse("/posts", status_code=303)
        if version and version != _version(post):
            self.flash(request, "error",
                       "Posting ini sudah berubah sejak halaman dibuka (sekarang: "
                       f"{STATUS_LABELS[post.status]}). Tidak ada yang diubah; periksa lagi "
                       "lalu ulangi bila perlu.")
            if name == "edit":
                return await self.post(request, status_code=409, edit=_edit_fields(form),
                                       error="Posting berubah sementara Anda menyunting; "
                                             "suntingan Anda masih ada di bawah.")
            return back
        try:
            if name == "approve":
                done = await call(self.bot.approve, post_id, reason=reason, actor=actor)
                self.flash(request, "ok", f"Disetujui. Status: {STATUS_LABELS[done.status]}.")
            elif name == "skip":
                if not reason:
                    self.flash(request, "error", "Tulis alasan melewatkan posting ini.")
                    return back
                done = await call(self.bot.skip, post_id, reason=reason, actor=actor)
                self.flash(request, "ok", "Dilewati; posting ini tidak akan terbit.")
            elif name == "retry":
                done = await call(self.bot.retry, post_id, reason=reason, actor=actor)
                self.flash(request, "ok", f"Dicoba lagi. Status: {STATUS_LABELS[done.status]}.")
            elif name == "publish":
                done = await call(self.bot.post_now, post_id, reason=reason, actor=actor)
                self.flash(request, "ok", "Diantrekan untuk terbit sekarang: pekerja akan "
                                          "mengunggahnya pada detik-detik berikutnya.")
            elif name == "edit":
                fields = _edit_fields(form)
                try:
                    await call(self.bot.edit_post, post_id, actor=actor,
                               unchanged_since=post.updated_at, **fields)
                except PreflightError as exc:
                    return await self.post(request, status_code=422, edit=fields,
                                           error=f"Suntingan ditolak, tidak ada yang diubah: "
                                                 f"{exc}")
                self.flash(request, "ok", "Suntingan disimpan; kartu dan pemeriksaan "
                                          "Instagram diperbarui.")
            elif name == "followup":
                what = _field(form, "do") or ""
                answer = {"update_caption": self.bot.update_caption,
                          "archive": self.bot.archive, "dismiss": self.bot.dismiss}.get(what)
                if answer is None:
                    self.flash(request, "error", "Pilih tindak lanjut: perbarui keterangan, "
                                                 "arsipkan, atau abaikan.")
                    return back
                await call(answer, post_id, reason=reason, actor=actor)
                self.flash(request, "ok", FOLLOWUP_DONE[what])
            else:
                raise HTTPException(404)
        except InvalidAction as exc:
            if name == "edit":
                return await self.post(request, status_code=409, edit=_edit_fields(form),
                                       error=f"Tidak diubah: {exc}")
            self.flash(request, "error", f"Tidak diubah: {exc}")
        except BotError as exc:
            log.warning("desk action %s on post %s failed: %s", name, post_id, exc)
            self.flash(request, "error", f"Gagal: {exc}")
        return back


def create_app(bot: Bot, settings: WebSettings, *, limiter: LoginLimiter | None = None,
               force_secure: bool | None = None,
               hook_limiter: HookLimiter | None = None) -> Starlette:
    """The desk app over ``bot``; ``force_secure`` marks cookies Secure even over http."""
    desk = Desk(bot, settings, limiter or LoginLimiter())
    hook = WordPressHook(bot, settings.hook_token, hook_limiter)
    admin = desk.admin
    public_url = bot.config.web.public_url or ""
    secure = force_secure if force_secure is not None else public_url.startswith("https:")
    routes = [
        Route("/healthz", desk.healthz),
        Route("/bio", desk.bio),
        Route("/bio/logo", desk.logo),
        Route("/login", desk.login, methods=["GET", "POST"]),
        Route("/logout", desk.logout, methods=["POST"]),
        Route("/", admin(desk.dashboard)),
        Route("/posts", admin(desk.posts)),
        Route("/posts.csv", admin(desk.posts_csv)),
        Route("/posts/{post_id:int}", admin(desk.post)),
        Route("/posts/{post_id:int}/{kind:str}.jpg", _only_kinds(desk.image)),
        Route("/posts/{post_id:int}/{action:str}", admin(_only_actions(desk.action)),
              methods=["POST"]),
        *hook.routes(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        return desk.page(request, "error.html", status_code=status,
                         title="Halaman tidak ditemukan" if status == 404 else "Galat",
                         message=str(getattr(exc, "detail", "")) or "Alamat ini tidak ada.")

    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("desk handler crashed on %s", request.url.path, exc_info=exc)
        return desk.page(request, "error.html", status_code=500, title="Galat di server",
                         message="Terjadi galat; tidak ada yang diubah. Rinciannya ada di log.")

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found,
                                                        Exception: crashed})
    app.add_middleware(SessionMiddleware, sessions=Sessions(settings), force_secure=secure)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


_ACTIONS = {"approve", "skip", "retry", "publish", "edit", "followup"}


def _only_actions(handler: Handler) -> Handler:
    async def checked(request: Request) -> Response:
        if request.path_params["action"] not in _ACTIONS:
            raise HTTPException(404, "Tindakan tidak dikenal")
        return await handler(request)
    return checked


def _only_kinds(handler: Handler) -> Handler:
    async def checked(request: Request) -> Response:
        if request.path_params["kind"] not in ("card", "story"):
            raise HTTPException(404, "Gambar tidak ditemukan")
        return await handler(request)
    return checked


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _edit_fields(form: FormData) -> dict[str, str]:
    # Browsers send CRLF in textareas; the caption keeps plain newlines.
    return {name: (_field(form, name) or "").replace("\r\n", "\n")
            for name in ("caption", "alt_text", "headline")}


def _version(post: Post) -> str:
    """What the page showed: a form carrying another version acts on a changed post."""
    return post.updated_at.isoformat()


def _local_path(value: str | None) -> str:
    # Only paths on this site: "//evil.example" or "https://…" would be an open redirect.
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _parse_day(value: str | None, label: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"Tanggal '{value}' ({label}) tidak dikenal; gunakan TTTT-BB-HH, "
                        "misalnya 2026-11-28.")
        return None


def _http_date(moment: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _not_modified(request: Request, etag: str, modified: datetime | None) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since and modified is not None:
        from email.utils import parsedate_to_datetime

        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False
