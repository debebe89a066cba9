"""vidd's web app in Debian's chromium, against a real `vidd all` (worker included): upload,
live progress, watching (HLS and the MP4 ladder), storyboard, failures, editing and deleting,
and the keyboard. Every page is checked for console errors (the `page` fixture) and sideways
scrolling, and photographed light and dark at two sizes (`screenshots`)."""
import re
import shutil
import time
import urllib.parse
import uuid

import pytest
from playwright.sync_api import expect

from conftest import ConsoleWatch, screenshots, FIXTURES, player_state, wait_until_playing_past


@pytest.fixture(scope="module")
def ready(vidd, media):
    """A completed 6 s 640×360 video (rungs 360p, 240p, 144p), uploaded through the API."""
    video_id = vidd.upload(media["six_seconds"], title="Six seconds of test pattern")
    return vidd.wait_for_status(video_id, {"completed"})


def test_upload_through_the_page_then_live_progress_per_rendition(vidd, page, media):
    page.goto(vidd.base + "/upload")
    expect(page.get_by_role("heading", name="Upload videos")).to_be_visible()
    submit = page.locator("#upload-button")
    expect(submit).to_be_disabled()
    page.set_input_files("#file-input", str(media["long"]))
    row = page.locator(".pending .upload-row").first
    expect(row).to_contain_text(media["long"].name)
    row.locator(".row-title").fill("Live progress clip")
    expect(submit).to_be_enabled()
    # Every value the bar takes, with the button's state at that moment.
    page.evaluate("""() => {
        window.uploadTrace = [];
        const bar = document.querySelector('.upload-bar'), button = document.querySelector('#upload-button');
        new MutationObserver(() => window.uploadTrace.push([bar.value, button.disabled]))
            .observe(bar, { attributes: true, attributeFilter: ['value'] });
    }""")
    submit.click()
    done = page.locator(".recent .upload-row[data-video-id]")
    expect(done).to_have_count(1, timeout=60_000)
    video_id = done.get_attribute("data-video-id")
    expect(done.locator(".upload-bar")).to_have_attribute("value", "100")
    expect(done.locator(".row-progress").first).to_contain_text("100 %")
    trace = page.evaluate("window.uploadTrace")
    assert trace and trace[-1][0] == 100, f"the bar ends at 100 %: {trace}"
    assert all(disabled for value, disabled in trace), f"the button is disabled while uploading: {trace}"
    # The form starts over: nothing selected, the button disabled again.
    expect(page.locator(".pending .upload-row")).to_have_count(0)
    expect(submit).to_be_disabled()
    expect(page.locator(".form-status")).to_contain_text("Uploaded")
    screenshots(page, "upload")

    # The library's card moves with the global progress feed (client-side navigation from here
    # on: the page is never reloaded).
    page.evaluate("window.sameDocument = true")
    page.get_by_role("link", name="vidd: library").click()
    card = page.locator(f'.video-card[data-id="{video_id}"]')
    expect(card).to_be_visible()
    bar = card.locator(".card-progress")
    page.wait_for_function("""id => { const bar = document.querySelector(`.video-card[data-id="${id}"] .card-progress`);
        return bar && bar.hasAttribute('value') && bar.value > 0 && bar.value < 100; }""", arg=video_id, timeout=30_000)
    first = float(bar.get_attribute("value"))
    page.wait_for_function("""([id, v]) => { const bar = document.querySelector(`.video-card[data-id="${id}"] .card-progress`);
        return !bar || bar.closest('[hidden]') || Number(bar.value) !== v; }""", arg=[video_id, first], timeout=30_000)
    expect(bar).to_have_attribute("aria-label", "Progress of Live progress clip")
    card.get_by_role("link").click()
    expect(page).to_have_url(f"{vidd.base}/watch/{video_id}")
    rungs = page.locator(".rungs .rung")
    expect(rungs.first).to_be_visible(timeout=30_000)
    seen = set()
    moving = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot = page.evaluate("""() => [...document.querySelectorAll('.rungs .rung')].map(r =>
            [r.querySelector('.rung-label').textContent, Number(r.querySelector('progress').value), r.querySelector('.rung-state').textContent])""")
        if not snapshot:
            break   # completed: the player replaced the progress
        seen.add(tuple(tuple(r) for r in snapshot))
        moving = moving or any(0 < value < 100 for _, value, _ in snapshot)
        if len(seen) >= 3 and moving:
            break
        time.sleep(0.1)
    assert moving and len(seen) >= 3, f"each rendition's bar moves while processing: {seen}"
    labels = [label for label, _, _ in next(iter(seen))]
    assert labels == ["720p", "480p", "360p", "240p", "144p"], labels
    status = page.locator(".processing-status")
    if status.count():
        expect(status).to_contain_text(re.compile(r"Encoding|Saving|Finishing|Reading|Waiting"))
        screenshots(page, "watch-processing")
    # Done: the player appears in place, without a reload.
    expect(page.locator(".player video")).to_be_attached(timeout=120_000)
    assert page.evaluate("window.sameDocument") is True
    expect(page.locator(".processing")).to_have_count(0)
    expect(page.locator(".video-title")).to_have_text("Live progress clip")
    expect(page.locator(".video-meta")).not_to_contain_text("Processing")
    expect(page.locator("#announcer")).to_have_text("Live progress clip: Ready")
    assert vidd.video(video_id)["status"] == "completed"


def test_watch_page_from_its_url_in_a_fresh_context_plays_hls_and_switches_quality(vidd, browser, ready):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        console = ConsoleWatch(page)
        page.goto(f"{vidd.base}/watch/{ready['id']}")
        expect(page.locator(".video-title")).to_have_text("Six seconds of test pattern")
        expect(page.locator(".player")).to_have_attribute("data-mode", "hls")
        master = page.request.get(vidd.base + ready["hls_master_url"]).text()
        variants = re.findall(r"#EXT-X-STREAM-INF:.*RESOLUTION=(\d+)x(\d+)", master)
        assert len(variants) >= 2, master
        assert page.evaluate("document.createElement('video').canPlayType('application/vnd.apple.mpegurl')") != ""
        options = page.locator(".quality option").all_text_contents()
        assert options == ["Auto", "360p", "240p", "144p"], options
        page.locator(".big-play").click()
        wait_until_playing_past(page, 0.5)
        state = player_state(page)
        assert state["src"].endswith("/hls/master.m3u8") and state["height"] in {int(h) for _, h in variants}, state
        screenshots(page, "watch-playing")
        # Switching variant: a fixed quality, at the same place, still playing.
        before = player_state(page)["time"]
        page.select_option(".quality", "240p")
        page.wait_for_function("() => { const v = document.querySelector('.player video'); return v.currentSrc.endsWith('/mp4/240p.mp4') && v.videoHeight === 240; }")
        wait_until_playing_past(page, before)
        assert player_state(page)["mode"] == "mp4"
        page.select_option(".quality", "auto")
        page.wait_for_function("() => document.querySelector('.player video').currentSrc.endsWith('/hls/master.m3u8')")
        assert console.errors == [], console.errors
    finally:
        context.close()


NO_NATIVE_HLS = """(() => {
    const canPlayType = HTMLMediaElement.prototype.canPlayType;
    HTMLMediaElement.prototype.canPlayType = function (type) {
        return /mpegurl/i.test(type) ? "" : canPlayType.call(this, type);
    };
})();"""


def test_mp4_fallback_quality_switch_keeps_the_position(vidd, page, ready):
    # A browser without native HLS (Firefox, Chrome before it): the page falls back to the MP4 ladder.
    page.add_init_script(NO_NATIVE_HLS)
    page.goto(f"{vidd.base}/watch/{ready['id']}")
    expect(page.locator(".player")).to_have_attribute("data-mode", "mp4")
    assert page.locator(".quality option").all_text_contents() == ["360p", "240p", "144p"]
    page.locator(".big-play").click()
    wait_until_playing_past(page, 2.0)
    page.keyboard.press("k")   # pause
    page.wait_for_function("() => document.querySelector('.player video').paused")
    position = player_state(page)["time"]
    page.select_option(".quality", "144p")
    page.wait_for_function("() => { const v = document.querySelector('.player video'); return v.currentSrc.endsWith('/mp4/144p.mp4') && v.readyState >= 1 && v.videoHeight === 144; }")
    page.wait_for_function("t => Math.abs(document.querySelector('.player video').currentTime - t) < 0.25", arg=position)
    assert player_state(page)["paused"], "a paused video stays paused"
    page.select_option(".quality", "360p")
    page.wait_for_function("() => { const v = document.querySelector('.player video'); return v.currentSrc.endsWith('/mp4/360p.mp4') && v.videoHeight === 360; }")
    page.wait_for_function("t => Math.abs(document.querySelector('.player video').currentTime - t) < 0.25", arg=position)


def test_storyboard_preview_on_hover(vidd, page, ready):
    page.goto(f"{vidd.base}/watch/{ready['id']}")
    seek = page.locator(".seek")
    expect(seek).to_be_visible()
    box = seek.bounding_box()
    # hover() waits until the bar stopped moving (the page may still be laying out).
    seek.hover(position={"x": box["width"] * 0.6, "y": box["height"] / 2})
    preview = page.locator(".preview")
    expect(preview).to_be_visible()
    image = page.locator(".preview-image")
    expect(image).to_be_visible()
    style = image.evaluate("e => { const s = getComputedStyle(e); return [s.backgroundImage, s.backgroundPosition, e.clientWidth, e.clientHeight]; }")
    assert "storyboard.jpg" in style[0] and style[2] > 0 and style[3] > 0, style
    expect(page.locator(".preview-time")).to_have_text(re.compile(r"0:0[3-4]"))
    sprite = page.request.get(f"{vidd.base}/media/{ready['id']}/storyboard.jpg")
    assert sprite.status == 200 and sprite.headers["content-type"] == "image/jpeg"
    # A different place shows another tile.
    seek.hover(position={"x": box["width"] * 0.05, "y": box["height"] / 2})
    expect(page.locator(".preview-time")).to_have_text("0:00")
    assert image.evaluate("e => getComputedStyle(e).backgroundPosition") != style[1]
    page.locator(".video-title").hover()
    expect(preview).to_be_hidden()


def test_a_portrait_clip_is_offered_as_720p_and_down(vidd, page, media):
    video_id = vidd.upload(media["portrait"], title="Portrait phone clip")
    video = vidd.wait_for_status(video_id, {"completed"})
    assert [r["label"] for r in video["renditions"]] == ["720p", "480p", "360p", "240p", "144p"]
    page.goto(f"{vidd.base}/watch/{video_id}")
    expect(page.locator(".quality option")).to_have_text(["Auto", "720p", "480p", "360p", "240p", "144p"])
    first = page.locator(".renditions tbody tr").first
    expect(first.locator("th")).to_have_text("720p")
    expect(first.locator("td").first).to_have_text("720 × 1280")
    expect(page.locator(".player")).to_have_attribute("data-orientation", "portrait")


def test_a_corrupt_upload_explains_itself_and_offers_no_retry(vidd, page, media):
    page.goto(vidd.base + "/upload")
    page.set_input_files("#file-input", str(media["corrupt"]))
    page.locator("#upload-button").click()
    row = page.locator(".recent .upload-row[data-video-id]")
    expect(row).to_contain_text("Failed: This file is not a video", timeout=60_000)
    expect(row).to_have_class(re.compile("is-processing-failed"))
    row.get_by_role("link", name=re.compile("Watch")).click()
    failure = page.locator(".failure")
    expect(failure).to_be_visible()
    expect(failure.locator(".failure-message")).to_have_text(re.compile("not a video that can be read"))
    text = failure.locator(".failure-message").inner_text() + failure.locator("h2").inner_text()
    assert "source/" not in text and "demuxer" not in text and "libav" not in text, text
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    expect(failure).to_contain_text("Retrying will not help")
    details = failure.locator("details")
    expect(details.locator("pre")).to_be_hidden()
    details.locator("summary").click()
    expect(details.locator("pre")).to_contain_text("not a media file")
    details.locator("summary").click()
    screenshots(page, "watch-failed")


def test_a_temporary_failure_offers_retry_and_the_retry_works(vidd, page):
    # Storage that refuses for a while: a regular file where the video's output directory must go,
    # so every output upload fails (and is retried, then the attempt fails: a temporary failure).
    video_id = str(uuid.uuid4())
    source = vidd.storage / "source" / video_id / "clip.mp4"
    source.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "landscape_720p.mp4", source)
    blocker = vidd.storage / "processed" / video_id
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a directory")
    r = vidd.request("POST", "/jobs", json_body={"video_id": video_id, "source_key": f"source/{video_id}/clip.mp4", "title": "Flaky storage"})
    assert r.status == 202, r.body
    failed = vidd.wait_for_status(video_id, {"failed"})
    assert failed["failure"]["code"] == "temporary" and failed["failure"]["retryable"] is True, failed["failure"]

    page.goto(f"{vidd.base}/watch/{video_id}")
    failure = page.locator(".failure")
    expect(failure.locator(".failure-message")).to_have_text(re.compile("temporary problem"))
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    blocker.unlink()   # the storage is back
    page.evaluate("window.sameDocument = true")
    retry.click()
    expect(page.locator(".player video")).to_be_attached(timeout=120_000)
    assert page.evaluate("window.sameDocument") is True
    # The player appears as soon as the video is playable, which may be before it completes.
    assert vidd.wait_for_status(video_id, {"completed", "failed"})["status"] == "completed"


def test_title_edit_persists_after_reload_and_copy_link(vidd, context, page, ready):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=vidd.base)
    page.goto(f"{vidd.base}/watch/{ready['id']}")
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator(".toast")).to_have_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == f"{vidd.base}/watch/{ready['id']}"
    page.get_by_role("button", name="Edit title").click()
    field = page.get_by_role("textbox", name="Title")
    expect(field).to_be_focused()
    field.fill("  Renamed in the browser ✓  ")
    field.press("Enter")
    expect(page.locator(".video-title")).to_have_text("Renamed in the browser ✓")
    page.reload()
    expect(page.locator(".video-title")).to_have_text("Renamed in the browser ✓")
    assert vidd.video(ready["id"])["title"] == "Renamed in the browser ✓"
    # Escape leaves the title as it was.
    page.get_by_role("button", name="Edit title").click()
    page.get_by_role("textbox", name="Title").fill("Not this")
    page.keyboard.press("Escape")
    expect(page.locator(".video-title")).to_have_text("Renamed in the browser ✓")


def test_delete_removes_the_card(vidd, page, media):
    video_id = vidd.upload(media["landscape"], title="To be deleted")
    vidd.wait_for_status(video_id, {"completed"})
    page.goto(vidd.base + "/")
    card = page.locator(f'.video-card[data-id="{video_id}"]')
    expect(card).to_be_visible()
    expect(card.locator("img")).to_be_visible()
    expect(card.locator(".duration")).to_have_text("0:02")
    screenshots(page, "library")
    card.get_by_role("link").click()
    expect(page).to_have_url(f"{vidd.base}/watch/{video_id}")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("To be deleted")
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(vidd.base + "/")
    expect(page.locator(".video-card").first).to_be_visible()
    expect(page.locator(f'.video-card[data-id="{video_id}"]')).to_have_count(0)
    assert vidd.request("GET", f"/videos/{video_id}").status == 404
    # Back/forward still work after it.
    page.go_back()
    # Without a token a deleted video and a private one look alike (both 404): the page says so.
    expect(page.get_by_role("heading", name="This video is private or does not exist")).to_be_visible()
    page.console_watch.errors = [e for e in page.console_watch.errors if "404 (Not Found)" not in e]


def focus_by_tab(page, predicate, limit=30):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(predicate):
            return
    raise AssertionError(f"Tab never reached {predicate}")


def test_keyboard_only_upload_and_play(vidd, page):
    # Listening early makes Playwright intercept file choosers before any key is pressed (the
    # interception is switched on asynchronously when the first listener is added).
    page.on("filechooser", lambda chooser: None)
    page.goto(vidd.base + "/upload")
    focus_by_tab(page, "document.activeElement.id === 'file-input'")
    ring = page.evaluate("getComputedStyle(document.querySelector('.dropzone-label')).outlineStyle")
    assert ring != "none", "the focused file picker shows a focus ring"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(FIXTURES / "landscape_720p.mp4"))
    expect(page.locator(".pending .upload-row")).to_have_count(1)
    focus_by_tab(page, "document.activeElement.id === 'upload-button'")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    done = page.locator(".recent .upload-row[data-video-id]")
    expect(done).to_have_count(1, timeout=60_000)
    focus_by_tab(page, "document.activeElement.matches('.recent a.button')")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/watch/[0-9a-f-]{36}$"))
    expect(page.locator(".player video")).to_be_attached(timeout=120_000)
    page.keyboard.press("k")
    wait_until_playing_past(page, 0.2)
    page.keyboard.press("m")
    assert page.evaluate("document.querySelector('.player video').muted") is True
    page.keyboard.press("k")
    page.wait_for_function("() => document.querySelector('.player video').paused")
    # Shortcuts never fire while typing.
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Edit title").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("k")
    assert page.evaluate("document.querySelector('.player video').paused") is True


def test_upload_errors_are_red_with_the_servers_message_and_the_token_field_works(services, browser, media):
    from vidd import Vidd
    token = "browser-test-token-0123456789"
    server = Vidd("browser_token", command="serve", settings={"VIDD_API_TOKENS": token})
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        console = ConsoleWatch(page)
        page.goto(server.base + "/upload")
        page.set_input_files("#file-input", str(media["landscape"]))
        page.locator("#upload-button").click()
        row = page.locator(".pending .upload-row.is-failed")
        expect(row).to_be_visible()
        message = row.locator(".row-message")
        expect(message).to_contain_text("Upload failed:")
        expect(message).to_contain_text("token")
        color = message.evaluate("e => getComputedStyle(e).color")
        r, g, b = (int(x) for x in re.findall(r"\d+", color)[:3])
        assert r > 150 and g < 80 and b < 80, f"the error is red: {color}"
        screenshots(page, "upload-error")
        page.fill("#upload-token", token)
        page.locator("#upload-button").click()
        expect(page.locator(".recent .upload-row[data-video-id]")).to_have_count(1)
        assert page.evaluate("sessionStorage.getItem('vidd.token')") == token
        # The refused request is the one console line: the browser reports every 401 it gets.
        assert all("401 (Unauthorized)" in e for e in console.errors), console.errors
    finally:
        context.close()
        server.stop()


def test_large_files_resume_through_tus_when_the_server_offers_it(vidd, page, big_clip):
    offered = vidd.request("OPTIONS", "/uploads")
    if offered.headers.get("Tus-Resumable") != "1.0.0":
        pytest.skip("this vidd has no tus endpoint (OPTIONS /uploads answers no Tus-Resumable): "
                    "large files go through the multipart upload, which the tests above cover")
    requests = []
    state = {"cut": False}

    def cut_the_second_patch(route, request):
        requests.append(request.method)
        if request.method == "PATCH" and requests.count("PATCH") == 2 and not state["cut"]:
            state["cut"] = True
            route.abort("connectionreset")   # the connection drops mid-upload
            return
        route.continue_()

    page.route(re.compile(r"/uploads(/|$)"), cut_the_second_patch)
    page.goto(vidd.base + "/upload")
    page.set_input_files("#file-input", str(big_clip))
    page.locator("#upload-button").click()
    done = page.locator(".recent .upload-row[data-video-id]")
    expect(done).to_have_count(1, timeout=120_000)
    expect(done.locator(".upload-bar")).to_have_attribute("value", "100")
    video = vidd.video(done.get_attribute("data-video-id"))
    assert video is not None, "the finished upload is a video"
    stored = vidd.storage / video["source_key"]
    assert stored.stat().st_size == big_clip.stat().st_size and stored.read_bytes() == big_clip.read_bytes()
    assert state["cut"] and "HEAD" in requests[requests.index("PATCH"):], f"resumed from HEAD's offset: {requests}"
    # The dropped connection is the one console line.
    page.console_watch.errors = [e for e in page.console_watch.errors if "ERR_" not in e]


def source_entries(server):
    directory = server.storage / "source"
    return set(p.name for p in directory.iterdir()) if directory.exists() else set()


@pytest.mark.parametrize("path", ["multipart", "tus"])
def test_cancel_stops_an_upload_midway_and_leaves_nothing(vidd, page, media, big_clip, path):
    """Cancel during the upload (slowed to 2 MB/s so there is a midway): the row says Cancelled,
    the bar is back at 0, no video is made, nothing stays in the storage's sources, and a tus
    upload is terminated on the server."""
    if path == "tus" and vidd.request("OPTIONS", "/uploads").headers.get("Tus-Resumable") != "1.0.0":
        pytest.skip("this vidd has no tus endpoint: large files go through the multipart upload")
    clip = big_clip if path == "tus" else media["sixty_seconds"]   # 25 MB (from 16 MiB on: tus) or 15 MB
    title = f"Cancelled {path} {uuid.uuid4().hex[:8]}"
    sources = source_entries(vidd)
    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": 2 * 1024 * 1024})
    page.goto(vidd.base + "/upload")
    page.set_input_files("#file-input", str(clip))
    row = page.locator(".pending .upload-row")
    row.locator(".row-title").fill(title)
    page.locator("#upload-button").click()
    page.wait_for_function("() => { const bar = document.querySelector('.upload-bar'); return bar && bar.value > 5; }", timeout=30_000)
    assert float(row.locator(".upload-bar").get_attribute("value") or 0) < 80, "too late to cancel midway"
    row.get_by_role("button", name=f"Cancel upload of {clip.name}").click()
    expect(row).to_have_class(re.compile("is-cancelled"))
    expect(row.locator(".row-message")).to_have_text("Cancelled.")
    expect(row.locator(".upload-bar")).to_have_attribute("value", "0")
    expect(row.get_by_role("button", name=f"Remove {clip.name}")).to_be_visible()
    expect(page.locator(".recent .upload-row")).to_have_count(0)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and source_entries(vidd) != sources:
        time.sleep(0.1)
    assert source_entries(vidd) == sources, f"the cancelled upload left {source_entries(vidd) - sources} in storage"
    found = vidd.request("GET", "/videos?" + urllib.parse.urlencode({"q": title})).json()
    assert found["total"] == 0, found
    if path == "tus":
        upload_url = next(url for method, url in requests if method == "PATCH")
        assert ("DELETE", upload_url) in requests, f"the tus upload was terminated: {requests}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and vidd.request("HEAD", urllib.parse.urlparse(upload_url).path,
                                                           headers={"Tus-Resumable": "1.0.0"}).status not in (404, 410):
            time.sleep(0.1)
        gone = vidd.request("HEAD", urllib.parse.urlparse(upload_url).path, headers={"Tus-Resumable": "1.0.0"})
        assert gone.status in (404, 410), f"the terminated upload still answers {gone.status}"
    else:
        assert not any(method == "DELETE" for method, _ in requests), requests
    # The aborted request is the one console line the browser may print.
    page.console_watch.errors = [e for e in page.console_watch.errors if "ERR_" not in e]
