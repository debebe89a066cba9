"""Private videos in the web app, against a `vidd all` with API tokens and media signing keys
whose signed URLs live 10 s (the shortest VIDD_SIGNED_URL_TTL_SECONDS accepts), so a page open
for a few seconds has to renew them: the upload form's visibility choice, the library's badge and
its refresh when the token is set or cleared, the watch page of a private video (signed media,
the prompt for a token when it is opened without one), changing the visibility, and the renewal
of expiring URLs without losing the position. A server without signing keys refuses a private
upload; the page says why."""
import re
import time
import urllib.parse

import pytest
from playwright.sync_api import expect

from conftest import screenshots, player_state, wait_until_playing_past
from vidd import Vidd

TOKEN = "private-browser-token-0123456789"
SIGNING_KEY = "private-browser-signing-key-0123456789abcdef"
TTL_SECONDS = 10


@pytest.fixture(scope="module")
def private_vidd(services):
    server = Vidd("browser_private", settings={
        "VIDD_API_TOKENS": TOKEN, "VIDD_SIGNING_KEYS": SIGNING_KEY,
        "VIDD_SIGNED_URL_TTL_SECONDS": str(TTL_SECONDS), "VIDD_WORKER_CONCURRENCY": "2",
    })
    yield server
    server.stop()


@pytest.fixture(scope="module")
def private_ready(private_vidd, media):
    """A completed private 2 s 1280×720 video, uploaded through the API with the token."""
    video_id = private_vidd.upload(media["landscape"], title="Private test pattern", visibility="private")
    return private_vidd.wait_for_status(video_id, {"completed"})


def anonymous_status(server, video_id):
    return server.request("GET", f"/videos/{video_id}").status


def save_token(page, value):
    """Through the header's key button and its dialog, as a person does."""
    page.locator("#token-button").click()
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#token-dialog-input").fill(value)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()


def forget_token(page):
    page.locator("#token-button").click()
    dialog = page.locator("#token-dialog")
    dialog.get_by_role("button", name="Forget").click()
    expect(dialog).to_be_hidden()


def signature_expiry(url):
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert "sig" in query and "exp" in query, f"a signed URL: {url}"
    return int(query["exp"][0])


def test_a_private_upload_is_listed_with_its_badge_only_with_the_token_and_plays(private_vidd, page, media):
    page.goto(private_vidd.base + "/upload")
    public = page.get_by_role("radio", name="Public")
    private = page.get_by_role("radio", name="Private")
    expect(public).to_be_checked()
    page.set_input_files("#file-input", str(media["landscape"]))
    page.locator(".pending .upload-row .row-title").fill("My private clip")
    private.check()
    page.fill("#upload-token", TOKEN)
    screenshots(page, "upload-private")
    page.locator("#upload-button").click()
    done = page.locator(".recent .upload-row[data-video-id]")
    expect(done).to_have_count(1, timeout=60_000)
    expect(done).to_contain_text("Private")
    video_id = done.get_attribute("data-video-id")
    assert anonymous_status(private_vidd, video_id) == 404, "without the token a private video does not exist"
    assert private_vidd.video(video_id)["visibility"] == "private"
    # Its processing is followed through the signed progress URL (the plain one answers 404).
    expect(done.locator(".row-progress").last).to_contain_text(re.compile(r"Ready|Encoding|Saving|Finishing|Reading"), timeout=60_000)

    page.get_by_role("link", name="vidd: library").click()
    card = page.locator(f'.video-card[data-id="{video_id}"]')
    expect(card).to_be_visible()
    badge = card.locator(".badge-private")
    expect(badge).to_have_text("Private")
    expect(card.get_by_role("link")).to_contain_text("Private")   # in the link's name, not colour only
    # Without the token the list is the public one, at once; with it again the video is back.
    forget_token(page)
    expect(card).to_have_count(0)
    expect(page.get_by_text("No videos yet")).to_be_visible()
    save_token(page, TOKEN)
    expect(card).to_be_visible()
    expect(page.locator(".library-count")).to_have_text("1 video")
    private_vidd.wait_for_status(video_id, {"completed"})
    page.reload()
    expect(card.locator("img")).to_be_visible()
    screenshots(page, "library-private")

    card.get_by_role("link").click()
    expect(page.locator(".video-title")).to_have_text("My private clip")
    expect(page.locator(".video-meta .badge-private")).to_have_text("Private")
    page.locator(".big-play").click()
    wait_until_playing_past(page, 0.3)
    signature_expiry(player_state(page)["src"])
    screenshots(page, "watch-private")


def test_a_private_watch_url_opened_without_a_token_asks_for_it_then_plays(private_vidd, page, private_ready):
    page.goto(f"{private_vidd.base}/watch/{private_ready['id']}")   # a fresh context: no token
    expect(page.get_by_role("heading", name="This video is private or does not exist")).to_be_visible()
    screenshots(page, "watch-private-prompt")
    page.get_by_role("button", name="Enter API token").click()
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    # A wrong token does not open it: the page says so and asks again.
    dialog.locator("#token-dialog-input").fill("not-the-token")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Video not found")).to_be_visible()
    expect(page.locator(".not-found")).to_contain_text("token")
    page.get_by_role("button", name="Change API token").click()
    dialog.locator("#token-dialog-input").fill(TOKEN)
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator(".video-title")).to_have_text("Private test pattern")
    expect(page.locator(".player")).to_have_attribute("data-mode", "hls")
    page.locator(".big-play").click()
    wait_until_playing_past(page, 0.3)
    signature_expiry(player_state(page)["src"])
    # The video's own 404s (before the token) are the one kind of console line.
    page.console_watch.errors = [e for e in page.console_watch.errors if "404 (Not Found)" not in e]


def test_the_owner_changes_the_visibility_on_the_watch_page(private_vidd, page, private_ready):
    video_id = private_ready["id"]
    page.goto(private_vidd.base + "/")
    save_token(page, TOKEN)
    page.goto(f"{private_vidd.base}/watch/{video_id}")
    expect(page.locator(".player")).to_be_visible()
    page.get_by_role("button", name="Make public").click()
    expect(page.locator(".toast").last).to_have_text("The video is public now")
    expect(page.locator(".video-meta .badge-private")).to_have_count(0)
    assert anonymous_status(private_vidd, video_id) == 200
    expect(page.get_by_role("button", name="Make private")).to_be_focused()
    page.get_by_role("button", name="Make private").click()
    expect(page.locator(".video-meta .badge-private")).to_have_text("Private")
    assert anonymous_status(private_vidd, video_id) == 404
    # The player now plays through signed URLs (the plain ones are refused for a private video).
    page.wait_for_function("() => /[?&]sig=/.test(document.querySelector('.player video').currentSrc)")
    page.locator(".big-play").click()
    wait_until_playing_past(page, 0.3)


def test_expiring_signed_urls_are_renewed_without_losing_the_position(private_vidd, page, private_ready):
    """The page's clock is Playwright's: the renewal before expiry happens when it is moved on
    (no waiting); then, with it stopped, the URLs really expire and a refused one (a rung not
    loaded yet) makes the page renew them on the spot."""
    page.clock.install()
    page.goto(private_vidd.base + "/")
    save_token(page, TOKEN)
    page.goto(f"{private_vidd.base}/watch/{private_ready['id']}")
    page.wait_for_function("() => { const v = document.querySelector('.player video'); return v && v.readyState >= 1; }")
    first = player_state(page)["src"]
    first_expiry = signature_expiry(first)
    page.keyboard.press("5")   # half-way (1 s of 2 s), paused
    page.wait_for_function("() => Math.abs(document.querySelector('.player video').currentTime - 1) < 0.1")
    # exp is in whole seconds: once the server's second has moved on, a renewal signs anew.
    while time.time() < first_expiry - TTL_SECONDS + 1.05:
        time.sleep(0.05)
    # Before they expire (a fifth of their life before), the page fetches the video again and the
    # player moves to the new URLs: same place, still paused.
    page.clock.fast_forward(int(TTL_SECONDS * 0.8 * 1000) + 200)
    page.wait_for_function("src => document.querySelector('.player video').currentSrc !== src", arg=first)
    renewed = player_state(page)["src"]
    assert signature_expiry(renewed) > first_expiry, (first, renewed)
    page.wait_for_function("() => { const v = document.querySelector('.player video'); return v.readyState >= 2 && Math.abs(v.currentTime - 1) < 0.1; }")
    assert player_state(page)["paused"], "a paused video stays paused"

    # A tab whose timers slept: its URLs expire unrenewed, and the first one refused renews them.
    page.clock.pause_at(page.evaluate("Date.now()") + 1)
    renewed_expiry = signature_expiry(renewed)
    while time.time() <= renewed_expiry + 1:
        time.sleep(0.2)
    assert page.request.get(private_vidd.base + first.split(private_vidd.base, 1)[-1]).status == 403, "the first URL expired"
    page.select_option(".quality", "144p")   # a rung not loaded before: its expired URL is refused
    page.wait_for_function("""exp => { const v = document.querySelector('.player video');
        const m = /[?&]exp=(\\d+)/.exec(v.currentSrc);
        return v.currentSrc.includes('/mp4/144p.mp4') && m && Number(m[1]) > exp && v.readyState >= 2 && v.videoHeight === 144; }""",
                           arg=renewed_expiry)
    page.wait_for_function("() => Math.abs(document.querySelector('.player video').currentTime - 1) < 0.25")
    # The refused request is the one console line.
    page.console_watch.errors = [e for e in page.console_watch.errors if "403 (Forbidden)" not in e]


@pytest.mark.parametrize("path", ["multipart", "tus"])
def test_a_server_without_signing_keys_says_it_cannot_keep_a_video_private(vidd, page, media, big_clip, path):
    if path == "tus" and vidd.request("OPTIONS", "/uploads").headers.get("Tus-Resumable") != "1.0.0":
        pytest.skip("this vidd has no tus endpoint: large files go through the multipart upload")
    clip = big_clip if path == "tus" else media["landscape"]
    page.goto(vidd.base + "/upload")
    page.set_input_files("#file-input", str(clip))
    page.get_by_role("radio", name="Private").check()
    page.locator("#upload-button").click()
    row = page.locator(".pending .upload-row.is-failed")
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator(".row-message")).to_contain_text("VIDD_SIGNING_KEYS")
    expect(row.locator(".row-message")).to_contain_text("choose Public to upload it anyway")
    expect(page.locator(".recent .upload-row")).to_have_count(0)
    # The refused request is the one console line.
    page.console_watch.errors = [e for e in page.console_watch.errors if "422 (Unprocessable" not in e]


def test_make_private_on_a_server_without_signing_keys_says_why(vidd, page, media):
    video_id = vidd.upload(media["landscape"], title="Stays public")
    page.goto(f"{vidd.base}/watch/{video_id}")
    page.get_by_role("button", name="Make private").click()
    expect(page.locator(".toast-error")).to_contain_text("The visibility could not be changed")
    expect(page.locator(".toast-error")).to_contain_text("VIDD_SIGNING_KEYS")
    expect(page.get_by_role("button", name="Make private")).to_be_enabled()
    expect(page.locator(".video-meta .badge-private")).to_have_count(0)
    assert vidd.video(video_id)["visibility"] == "public"
    page.goto("about:blank")   # no page follows it any more: its transcode is not needed
    assert vidd.request("DELETE", f"/videos/{video_id}").status == 204
    page.console_watch.errors = [e for e in page.console_watch.errors if "422 (Unprocessable" not in e]


def test_a_large_private_file_goes_through_tus_as_private(private_vidd, page, big_clip):
    if private_vidd.request("OPTIONS", "/uploads").headers.get("Tus-Resumable") != "1.0.0":
        pytest.skip("this vidd has no tus endpoint: large files go through the multipart upload")
    page.goto(private_vidd.base + "/upload")
    page.set_input_files("#file-input", str(big_clip))
    page.get_by_role("radio", name="Private").check()
    page.fill("#upload-token", TOKEN)
    page.locator("#upload-button").click()
    done = page.locator(".recent .upload-row[data-video-id]")
    expect(done).to_have_count(1, timeout=60_000)
    video_id = done.get_attribute("data-video-id")
    assert anonymous_status(private_vidd, video_id) == 404
    assert private_vidd.video(video_id)["visibility"] == "private"
    # Not needed further: its transcode would only slow the other tests (no page follows it then).
    page.goto("about:blank")
    assert private_vidd.request("DELETE", f"/videos/{video_id}", headers=private_vidd.authorization()).status == 204


@pytest.fixture(scope="module")
def private_queue(services):
    """Private videos that stay queued (a `vidd serve`: no worker), to follow their progress."""
    server = Vidd("browser_private_queue", command="serve", settings={
        "VIDD_API_TOKENS": TOKEN, "VIDD_SIGNING_KEYS": SIGNING_KEY, "VIDD_SIGNED_URL_TTL_SECONDS": str(TTL_SECONDS),
    })
    yield server
    server.stop()


def test_a_private_video_in_flight_is_followed_through_its_signed_progress_url(private_queue, page, media):
    """The feed leaves private videos out (an EventSource sends no token): the library and the
    watch page follow the video's signed progress_url, and the watch page moves to the renewed
    one before it expires."""
    video_id = private_queue.upload(media["landscape"], title="Waiting in private", visibility="private")
    streams = []
    page.on("request", lambda r: streams.append(r.url) if f"/progress/{video_id}" in r.url else None)
    is_stream = lambda r: f"/progress/{video_id}?" in r.url
    page.clock.install()
    page.goto(private_queue.base + "/")
    with page.expect_request(is_stream):
        save_token(page, TOKEN)
    card = page.locator(f'.video-card[data-id="{video_id}"]')
    expect(card.locator(".badge-private")).to_have_text("Private")
    expect(card.locator(".card-progress-text")).to_have_text("Waiting for a worker")

    with page.expect_request(is_stream) as first:
        card.get_by_role("link").click()
    expect(page.locator(".processing-status")).to_have_text("Waiting for a worker")
    first_expiry = signature_expiry(first.value.url)
    while time.time() < first_expiry - TTL_SECONDS + 1.05:   # the server's second moved on: a new signature
        time.sleep(0.05)
    with page.expect_request(lambda r: is_stream(r) and signature_expiry(r.url) > first_expiry):
        page.clock.fast_forward(int(TTL_SECONDS * 0.8 * 1000) + 200)
    expect(page.locator(".processing-status")).to_have_text("Waiting for a worker")
    assert streams and all("sig=" in url for url in streams), f"never the unsigned stream (a 404): {streams}"
