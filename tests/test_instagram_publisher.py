"""The Instagram publisher, with the real instagrapi client against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import (
    Ambiguous,
    NeedsHuman,
    PostRejected,
    PublishError,
    RateLimited,
    SessionExpired,
    Transient,
)
from bot.models import AccountState
from bot.publishers.instagram.publisher import InstagramPublisher, _caption_has_link
from bot.publishers.instagram.session import load_session
from bot.publishers.instagram.transport import CallLimits, ConfigureResendRefused
from bot.store import Store
from tests.ig_emulator import (
    FEEDBACK_REQUIRED,
    LOGIN_REQUIRED,
    PLEASE_WAIT,
    RATE_LIMIT_ERROR,
    THROTTLED,
    Emulator,
    Fault,
    challenge_body,
)
from tests.igkit import (
    ACCOUNT,
    ARTICLE,
    PASSWORD,
    USERNAME,
    UTM,
    log_in,
    make_config,
    make_publisher,
    now,
    post_files,
)

# -- posting ---------------------------------------------------------------------------


def test_feed_post_reaches_instagram_with_caption_and_alt_text(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    files = post_files(tmp_path)

    published = publisher.publish(files)

    [posted] = emulator.feed()
    assert posted.caption == files.caption
    assert posted.alt_text == files.alt_text
    assert posted.upload_bytes > 10_000
    assert (posted.width, posted.height) == (1080, 1350)
    assert published.media_id == posted.pk
    assert published.shortcode == posted.code
    assert published.permalink == f"https://www.instagram.com/p/{posted.code}/"
    assert emulator.stories() == []


def test_story_carries_one_link_sticker_to_the_article_with_utm(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    files = post_files(tmp_path, story=True)

    published = publisher.publish_story(files)

    [story] = emulator.stories()
    assert story.links == [f"{ARTICLE}?{UTM}"]
    assert (story.width, story.height) == (1080, 1920)
    assert published.media_id == story.pk
    assert published.permalink == f"https://www.instagram.com/stories/{USERNAME}/{story.pk}/"
    assert emulator.feed() == []


def test_requests_carry_indonesian_locale_and_the_configured_timezone(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    publisher.publish(post_files(tmp_path))

    api = [h for h in emulator.hits if h.path.startswith("/api/")]
    assert api
    for hit in api:
        assert hit.headers["X-IG-App-Locale"] == "id_ID"
        assert hit.headers["X-IG-Timezone-Offset"] == "28800"  # Asia/Makassar, UTC+8
        assert hit.headers["X-IG-App-Startup-Country"] == "ID"
        assert "id_ID" in hit.headers["User-Agent"]
    assert {h.host for h in emulator.hits} == {"i.instagram.com"}


def test_a_session_is_checked_once_per_process_not_per_post(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    for post_id in (1, 2, 3):
        publisher.publish(post_files(tmp_path, post_id=post_id))

    assert len(emulator.feed()) == 3
    assert emulator.count("/accounts/current_user/") == 1
    assert emulator.logins == []


@pytest.mark.parametrize("problem", ["missing", "not_an_image_name"])
def test_a_missing_or_wrong_card_is_rejected_before_any_request(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path, problem: str) -> None:
    files = post_files(tmp_path)
    if problem == "missing":
        files.card.unlink()
    else:
        renamed = files.card.with_suffix(".gif")
        files.card.rename(renamed)
        files = type(files)(**{**files.__dict__, "card": renamed})

    with pytest.raises(PostRejected):
        publisher.publish(files)
    assert emulator.hits == []


def test_an_unreadable_image_is_rejected(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    files = post_files(tmp_path)
    files.card.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")

    with pytest.raises(PostRejected, match="cannot read the image"):
        publisher.publish(files)
    assert emulator.feed() == []


# -- errors by class --------------------------------------------------------------------

CONFIGURE = "/api/v1/media/configure/"
RUPLOAD = "/rupload_igphoto/"

ERROR_CASES: list[Any] = [
    pytest.param(Fault(CONFIGURE, status=429, body=THROTTLED), RateLimited,
                 "ClientThrottledError", id="429-on-configure"),
    pytest.param(Fault(RUPLOAD, status=429, body=THROTTLED), RateLimited,
                 "PhotoNotUpload", id="429-on-upload"),
    pytest.param(Fault(CONFIGURE, status=400, body=FEEDBACK_REQUIRED), RateLimited,
                 "FeedbackRequired", id="feedback_required"),
    pytest.param(Fault(CONFIGURE, status=400, body=PLEASE_WAIT), RateLimited,
                 "PleaseWaitFewMinutes", id="please-wait"),
    pytest.param(Fault(CONFIGURE, status=400, body=RATE_LIMIT_ERROR), RateLimited,
                 "RateLimitError", id="rate_limit_error"),
    # The upload endpoint's refusals arrive as PhotoNotUpload carrying Instagram's body.
    pytest.param(Fault(RUPLOAD, status=400, body=PLEASE_WAIT), RateLimited,
                 "PhotoNotUpload", id="please-wait-on-upload"),
    pytest.param(Fault(RUPLOAD, status=400, body=FEEDBACK_REQUIRED), RateLimited,
                 "PhotoNotUpload", id="feedback_required-on-upload"),
    pytest.param(Fault(RUPLOAD, status=400, body=challenge_body()), NeedsHuman,
                 "PhotoNotUpload", id="challenge_required-on-upload"),
    pytest.param(Fault(CONFIGURE, status=403, body={"message": "action blocked",
                                                     "status": "fail"}),
                 RateLimited, "ClientForbiddenError", id="403-action-block"),
    pytest.param(Fault(CONFIGURE, status=400, body=challenge_body()), NeedsHuman,
                 "ChallengeRequired", id="challenge_required"),
    pytest.param(Fault(CONFIGURE, status=400, body={
        **challenge_body(), "challenge": {"url": "https://www.instagram.com/accounts/suspended/",
                                          "api_path": "/accounts/suspended/"}}),
                 NeedsHuman, "AccountSuspended", id="suspended"),
    pytest.param(Fault(CONFIGURE, status=403, body=LOGIN_REQUIRED), SessionExpired,
                 "LoginRequired", id="login_required-without-password"),
    pytest.param(Fault(RUPLOAD, status=503, body="<html>503</html>"), Transient,
                 "PhotoNotUpload", id="503-on-upload"),
    # libcurl re-sends a request whose reused connection died (harmless for an
    # upload, which is why configure alone goes out on a fresh connection): drop all.
    pytest.param(Fault(RUPLOAD, kind="drop_before", times=-1), Transient,
                 "ConnectionError", id="drop-on-upload"),
    pytest.param(Fault(RUPLOAD, status=400, body={"debug_info": {"type": "ProcessingFailed"}}),
                 PostRejected, "PhotoNotUpload", id="bad-image-on-upload"),
    pytest.param(Fault(CONFIGURE, status=400, body={
        "message": "Uploaded image isn't in an allowed aspect ratio", "status": "fail"}),
                 PostRejected, "UnknownError", id="bad-aspect-on-configure"),
    pytest.param(Fault(CONFIGURE, status=500, body="<html>500</html>"), Ambiguous,
                 "ClientError", id="500-on-configure"),
    pytest.param(Fault(CONFIGURE, status=502, body="<html>502</html>"), Ambiguous,
                 "ClientError", id="502-on-configure"),
    pytest.param(Fault(CONFIGURE, kind="drop_before"), Ambiguous, "ClientConnectionError",
                 id="drop-on-configure"),
    pytest.param(Fault(CONFIGURE, status=200, body={}), Ambiguous, "configure answered",
                 id="empty-configure-answer"),
    pytest.param(Fault(CONFIGURE, status=200, body="<html>oops</html>"), Ambiguous,
                 "ClientJSONDecodeError", id="html-configure-answer"),
    pytest.param(Fault(CONFIGURE, status=408, body=""), Ambiguous, "ClientConnectionError",
                 id="408-on-configure"),
]


@pytest.mark.parametrize(("fault", "expected", "instagrapi_class"), ERROR_CASES)
def test_instagram_errors_end_in_the_bot_error_for_their_class(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path, fault: Fault,
        expected: type[PublishError], instagrapi_class: str) -> None:
    emulator.inject(fault)

    with pytest.raises(PublishError) as caught:
        publisher.publish(post_files(tmp_path))

    assert type(caught.value) is expected
    assert instagrapi_class in str(caught.value)
    assert str(caught.value).startswith("feed post: ")
    # Never a silent second configure, whatever instagrapi would have done.
    assert emulator.count(CONFIGURE) <= 1
    if expected is not Ambiguous:
        assert emulator.feed() == []


def test_rate_limits_carry_the_configured_cooldown(emulator: Emulator, store: Store,
                                                   tmp_path: Path) -> None:
    log_in(store, emulator)
    publisher = make_publisher(store, make_config(cooldown="3h"))
    emulator.inject(Fault(CONFIGURE, status=400, body=FEEDBACK_REQUIRED))

    with pytest.raises(RateLimited) as caught:
        publisher.publish(post_files(tmp_path))

    assert caught.value.cooldown is not None
    assert caught.value.cooldown.total_seconds() == 3 * 3600


def test_retry_after_longer_than_the_cooldown_wins(publisher: InstagramPublisher,
                                                   emulator: Emulator, tmp_path: Path) -> None:
    emulator.inject(Fault(CONFIGURE, status=429, body=THROTTLED,
                          headers={"Retry-After": str(12 * 3600)}))

    with pytest.raises(RateLimited) as caught:
        publisher.publish(post_files(tmp_path))

    assert caught.value.cooldown is not None
    assert caught.value.cooldown.total_seconds() == 12 * 3600


def test_a_failed_story_never_touches_the_feed(publisher: InstagramPublisher,
                                               emulator: Emulator, tmp_path: Path) -> None:
    files = post_files(tmp_path, story=True)
    publisher.publish(files)
    emulator.inject(Fault("/media/configure_to_story/", status=500, body="boom"))

    with pytest.raises(Ambiguous):
        publisher.publish_story(files)

    assert len(emulator.feed()) == 1
    assert emulator.count(CONFIGURE) == 1


# -- sessions ----------------------------------------------------------------------------


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("when", ["at-session-check", "at-configure"])
def test_login_required_gets_exactly_one_relogin_with_the_same_device(
        emulator: Emulator, store: Store, tmp_path: Path, when: str) -> None:
    before = log_in(store, emulator)
    publisher = make_publisher(store)
    if when == "at-session-check":
        emulator.expire_sessions()
    else:
        emulator.inject(Fault(CONFIGURE, status=403, body=LOGIN_REQUIRED))

    published = publisher.publish(post_files(tmp_path))

    assert emulator.logins == [USERNAME]
    [posted] = emulator.feed()
    assert published.media_id == posted.pk
    saved = load_session(store, ACCOUNT)
    assert saved is not None
    assert saved.settings["uuids"] == before["uuids"]
    assert saved.settings["device_settings"] == before["device_settings"]
    assert saved.settings["authorization_data"]["sessionid"] != \
        before["authorization_data"]["sessionid"]
    events = store.events(kind="login", account=ACCOUNT)
    assert [e.reason for e in events] == ["logged in again after LoginRequired: login_required"]


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("earlier", [FEEDBACK_REQUIRED, PLEASE_WAIT],
                         ids=["after-feedback_required", "after-please-wait"])
def test_an_upload_refusal_is_read_from_its_own_answer_not_the_one_before(
        emulator: Emulator, store: Store, tmp_path: Path, earlier: dict[str, Any]) -> None:
    """instagrapi builds the upload's PhotoNotUpload with the previous answer's JSON. In
    the soak, a session that ended after a feedback_required was read as one more rate
    limit on every upload, and the account cooled down forever instead of logging in."""
    log_in(store, emulator)
    publisher = make_publisher(store)
    emulator.inject(Fault(CONFIGURE, status=400, body=earlier))
    with pytest.raises(RateLimited):
        publisher.publish(post_files(tmp_path))
    emulator.expire_sessions()

    published = publisher.publish(post_files(tmp_path, post_id=8))

    assert emulator.logins == [USERNAME]
    assert published.media_id == emulator.feed()[-1].pk
    assert "login_required" in store.events(kind="login", account=ACCOUNT)[-1].reason


@pytest.mark.usefixtures("credentials")
def test_a_second_login_required_after_the_relogin_needs_a_human(
        emulator: Emulator, store: Store, tmp_path: Path) -> None:
    log_in(store, emulator)
    publisher = make_publisher(store)
    emulator.inject(Fault(CONFIGURE, status=403, body=LOGIN_REQUIRED, times=2))

    with pytest.raises(SessionExpired, match="LoginRequired"):
        publisher.publish(post_files(tmp_path))

    assert emulator.logins == [USERNAME]
    assert emulator.feed() == []


def test_without_a_password_an_ended_session_needs_bot_login(
        emulator: Emulator, store: Store, tmp_path: Path) -> None:
    log_in(store, emulator)
    emulator.expire_sessions()

    with pytest.raises(SessionExpired, match="bot login --account editorialkaltim"):
        make_publisher(store).publish(post_files(tmp_path))
    assert emulator.logins == []


@pytest.mark.usefixtures("credentials")
def test_a_wrong_password_on_relogin_needs_a_human(
        emulator: Emulator, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    log_in(store, emulator)
    emulator.expire_sessions()
    monkeypatch.setenv("IG_PASSWORD", "not-the-password")

    with pytest.raises(NeedsHuman, match="BadPassword"):
        make_publisher(store).publish(post_files(tmp_path))
    assert emulator.feed() == []


def test_no_saved_session_needs_bot_login(emulator: Emulator, store: Store,
                                          tmp_path: Path) -> None:
    with pytest.raises(SessionExpired, match="no saved Instagram session"):
        make_publisher(store).publish(post_files(tmp_path))
    assert emulator.hits == []


def test_a_session_saved_by_bot_login_replaces_the_one_in_memory(
        publisher: InstagramPublisher, emulator: Emulator, store: Store,
        tmp_path: Path) -> None:
    publisher.publish(post_files(tmp_path, post_id=1))
    emulator.expire_sessions()
    log_in(store, emulator)  # what `bot login` does while the daemon runs

    publisher.publish(post_files(tmp_path, post_id=2))

    assert len(emulator.feed()) == 2
    assert emulator.count("/accounts/current_user/") == 2


# -- bounded calls and exactly once ------------------------------------------------------


def test_a_hung_upload_is_cut_off_by_call_timeout(emulator: Emulator, store: Store,
                                                   tmp_path: Path) -> None:
    log_in(store, emulator)
    publisher = make_publisher(store, make_config(call_timeout="1s"))
    emulator.inject(Fault(RUPLOAD, kind="delay", delay=4))

    with pytest.raises(Transient) as caught:
        publisher.publish(post_files(tmp_path))

    assert type(caught.value) is Transient  # nothing was configured: not ambiguous
    assert emulator.count(CONFIGURE) == 0


def test_a_hung_configure_is_ambiguous_and_its_late_landing_is_found(
        emulator: Emulator, store: Store, tmp_path: Path) -> None:
    log_in(store, emulator)
    publisher = make_publisher(store, make_config(call_timeout="1s"))
    files = post_files(tmp_path)
    emulator.inject(Fault(CONFIGURE, kind="delay", delay=2))

    with pytest.raises(Ambiguous, match="may have landed"):
        publisher.publish(files)
    emulator.sleep(1.5)  # the request was in flight; it lands after the client gave up

    found = publisher.find_published(files)

    [posted] = emulator.feed()
    assert found is not None
    assert (found.media_id, found.shortcode) == (posted.pk, posted.code)


def test_a_connection_dropped_after_configure_is_ambiguous_then_found(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    files = post_files(tmp_path)
    emulator.inject(Fault(CONFIGURE, kind="drop_after"))

    with pytest.raises(Ambiguous):
        publisher.publish(files)
    found = publisher.find_published(files)

    [posted] = emulator.feed()
    assert found is not None
    assert found.media_id == posted.pk
    assert found.permalink == f"https://www.instagram.com/p/{posted.code}/"
    assert emulator.count(CONFIGURE) == 1


def test_find_published_is_none_when_the_post_is_not_there(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    publisher.publish(post_files(tmp_path, post_id=1, article=ARTICLE.replace("pilkada",
                                                                              "banjir")))

    assert publisher.find_published(post_files(tmp_path, post_id=2)) is None


def test_find_published_matches_a_caption_with_the_bare_article_link(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    publisher.publish(post_files(tmp_path, caption=f"Baca di {ARTICLE}"))

    assert publisher.find_published(post_files(tmp_path)) is not None


def publish_others(publisher: InstagramPublisher, tmp_path: Path, ids: range) -> None:
    """Posts of other articles that went out after the one a test looks for."""
    for post_id in ids:
        publisher.publish(post_files(tmp_path, post_id=post_id,
                                     article=f"https://editorialkaltim.com/?p={post_id}"))


def test_find_published_looks_past_the_first_page(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    files = post_files(tmp_path, post_id=1)
    publisher.publish(files)
    publish_others(publisher, tmp_path, range(2, 16))

    assert publisher.find_published(files) is not None
    assert emulator.count("/feed/user/") >= 2


def test_find_published_reads_back_to_the_uploads_time(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    """While a late configure settles, other posts may go out (min_gap = 0, a priority
    rule, publish --force): 25 of them pushed it out of the 20 most recent media, the
    check said "not posted" and the bot posted it again (found by the suite)."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    files = post_files(tmp_path, post_id=1)
    publisher.publish(files)
    publish_others(publisher, tmp_path, range(2, 27))

    assert publisher.find_published(files) is None  # the 20 most recent only
    assert publisher.find_published(files, since=since) is not None


def test_find_published_reads_deeper_for_every_post_made_since_the_upload(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed page budget ran out once the bot had posted more than it holds since an
    ambiguous upload: the check raised at every tick for good, and the post stayed
    ``publishing`` (the 30-minute soak found 36). The bot says how many it made."""
    import bot.publishers.instagram.publisher as module

    monkeypatch.setattr(module, "CHECK_MEDIA", 24)  # two pages at the emulator's size
    since = datetime.now(UTC) - timedelta(seconds=1)
    files = post_files(tmp_path, post_id=1)
    publisher.publish(files)
    publish_others(publisher, tmp_path, range(2, 42))

    with pytest.raises(Transient, match="still not back"):
        publisher.find_published(files, since=since)
    assert publisher.find_published(files, since=since, newer=40) is not None


def test_find_published_raises_instead_of_answering_none_on_a_network_error(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    files = post_files(tmp_path)
    publisher.publish(files)
    # Every attempt dropped: instagrapi's user_medias_v1 would answer [] here.
    emulator.inject(Fault("/feed/user/", kind="drop_before", times=-1))

    with pytest.raises(Transient):
        publisher.find_published(files)


@pytest.mark.parametrize(("caption", "found"), [
    ("Baca: https://editorialkaltim.com/?p=40010", True),
    ("Baca: https://editorialkaltim.com/?p=40010&utm_source=instagram", True),
    ("(https://editorialkaltim.com/?p=40010)", True),
    ("Baca: https://editorialkaltim.com/?p=400101", False),
    ("Baca: https://editorialkaltim.com/?p=4001", False),
    ("", False),
])
def test_the_link_must_appear_whole_in_the_caption(caption: str, found: bool) -> None:
    assert _caption_has_link(caption, "https://editorialkaltim.com/?p=40010") is found


def test_one_call_never_sends_configure_twice() -> None:
    limits = CallLimits(timeout=5)
    url = "https://i.instagram.com/api/v1/media/configure/"
    with limits.call("feed post"):
        limits.sending(url)
        with pytest.raises(ConfigureResendRefused):
            limits.sending(url)
    with limits.call("next attempt"):
        limits.sending(url)


# -- bot check ------------------------------------------------------------------------------


def test_check_reports_a_valid_session_and_the_account_state(
        publisher: InstagramPublisher, store: Store) -> None:
    assert publisher.check() == f"session valid for @{USERNAME}; account active"
    store.set_account(ACCOUNT, now(), state=AccountState.STOPPED, reason="challenge")
    assert publisher.check().endswith("account stopped: challenge")


@pytest.mark.usefixtures("credentials")
def test_check_reports_an_ended_session_without_logging_in(
        publisher: InstagramPublisher, emulator: Emulator, store: Store) -> None:
    emulator.expire_sessions()
    store.set_account(ACCOUNT, now(), state=AccountState.STOPPED, reason="LoginRequired")

    with pytest.raises(SessionExpired, match="account stopped: LoginRequired"):
        publisher.check()
    assert emulator.logins == []


def test_check_without_a_session_says_to_log_in(emulator: Emulator, store: Store) -> None:
    with pytest.raises(SessionExpired, match="bot login"):
        make_publisher(store).check()


def test_the_password_is_only_used_on_relogin(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IG_USERNAME", USERNAME)
    monkeypatch.setenv("IG_PASSWORD", PASSWORD)
    publisher.publish(post_files(tmp_path))
    publisher.check()

    assert emulator.logins == []
    assert emulator.count("send_login_request") == 0


def test_a_configure_that_lands_late_is_not_found_until_it_lands(
        publisher: InstagramPublisher, emulator: Emulator, tmp_path: Path) -> None:
    # Instagram answered 500 for a configure it did act on; the post shows 2 s later.
    files = post_files(tmp_path)
    emulator.inject(Fault(CONFIGURE, status=500, body={"message": "oops", "status": "fail"},
                          lands_after=2.0))

    with pytest.raises(Ambiguous):
        publisher.publish(files)
    assert len(emulator.feed()) == 1  # it reached Instagram…
    assert publisher.find_published(files) is None  # …but the account does not show it yet
    emulator.sleep(2.1)
    found = publisher.find_published(files)
    assert found is not None and found.media_id == emulator.feed()[0].pk
