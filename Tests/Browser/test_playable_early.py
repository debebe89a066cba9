"""Playable early on the watch page: a video opened while it waits for a worker shows the player as
soon as it is playable (still processing, progress beside it, no reload), plays the growing HLS
stream, and at completion gains the MP4 ladder in its quality menu without interrupting playback.
A browser that cannot play growing playlists gets the promised fallback (the progress, and a note
that the video plays here once ready), then normal playback at completion."""
import re
import subprocess
from contextlib import contextmanager

from playwright.sync_api import expect

from conftest import ConsoleWatch, screenshots, player_state, wait_until_playing_past
from vidd import Vidd, binary as vidd_binary, terminate

LADDER = ["360p", "240p", "144p"]   # the 640×360 clip's MP4 rungs


class EarlyVideo:
    def __init__(self, server, page, console, video_id):
        self.server, self.page, self.console, self.video_id = server, page, console, video_id
        self.worker = None

    def start_worker(self):
        self.worker = subprocess.Popen([vidd_binary(), "worker"], env=self.server.env, stdin=subprocess.DEVNULL,
                                       stdout=self.server.log, stderr=subprocess.STDOUT)

    def stop_worker(self):
        terminate(self.worker)


@contextmanager
def early_video(browser, media, title, prepare_page=lambda page: None):
    """The 60 s clip uploaded to `vidd serve` alone, so the watch page deterministically starts on
    the processing view; `start_worker()` then brings a worker whose x264 preset is slow, so the
    ladder takes far longer than its first segments."""
    server = Vidd("browser_early", command="serve", settings={"VIDD_X264_PRESET": "slow"})
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    early = None
    try:
        page = context.new_page()
        console = ConsoleWatch(page)
        prepare_page(page)
        video_id = server.upload(media["sixty_seconds"], title=title)
        page.goto(f"{server.base}/watch/{video_id}")
        expect(page.locator(".processing")).to_be_visible()
        early = EarlyVideo(server, page, console, video_id)
        yield early
    finally:
        context.close()
        if early:
            early.stop_worker()
        server.stop()


def test_the_player_appears_and_plays_while_the_video_is_still_encoding(browser, media):
    """Plays the growing playlists (Chromium's built-in HLS) while processing; at completion the
    same player, never reloaded, offers the MP4 rungs too and plays on from where it was."""
    with early_video(browser, media, "Plays while encoding") as early:
        page, console, server = early.page, early.console, early.server
        # Note the moment the player appears, and whether it played, while the video was
        # processing; from then on, every backward jump of its position and every reload.
        page.evaluate("""() => {
            window.playerSeen = null;
            window.playedWhileProcessing = false;
            window.backwardJumps = [];
            window.reloads = 0;
            new MutationObserver(() => {
                const player = document.querySelector('.player');
                if (window.playerSeen === null && player) {
                    window.playerSeen = { processing: !!document.querySelector('.processing-inline') };
                    player.dataset.testMarker = 'early';
                    const video = player.querySelector('video');
                    let furthest = 0;
                    video.addEventListener('timeupdate', () => {
                        if (video.currentTime > 2 && document.querySelector('.processing-inline')) window.playedWhileProcessing = true;
                        if (video.currentTime < furthest - 0.5) window.backwardJumps.push([furthest, video.currentTime]);
                        furthest = Math.max(furthest, video.currentTime);
                    });
                    // A new source (or the same one loaded again) empties the element first.
                    video.addEventListener('emptied', () => { window.reloads += 1; });
                }
            }).observe(document.body, { childList: true, subtree: true });
        }""")
        early.start_worker()
        page.wait_for_function("() => window.playerSeen !== null", timeout=120_000)
        seen = page.evaluate("window.playerSeen")
        assert seen["processing"], f"the player came only at completion: {seen}; console: {console.errors}"
        expect(page.locator(".player")).to_have_attribute("data-mode", "hls")
        # While processing only the adaptive stream exists: the menu has nothing to choose from.
        expect(page.locator(".quality option")).to_have_text(["Auto"])
        expect(page.locator(".quality")).to_be_hidden()
        video = server.video(early.video_id)
        assert video["playable"] is True and video["playable_at"], video
        screenshots(page, "watch-playable-early")
        page.locator(".player video").evaluate("v => { v.muted = true; }")
        page.locator(".big-play").click()
        page.wait_for_function("() => window.playedWhileProcessing || document.querySelector('.processing-note')", timeout=120_000)
        assert page.locator(".processing-note").count() == 0, "the browser could not play the growing playlists"
        assert page.evaluate("window.playedWhileProcessing")
        source = player_state(page)["src"]
        page.evaluate("window.reloads = 0")   # setting the first source counted too

        # Completion: the renditions table replaces the progress; the same player plays on, its
        # quality menu now offering the MP4 rungs, still on Auto.
        expect(page.locator("table.renditions")).to_be_visible(timeout=300_000)
        at_completion = player_state(page)
        expect(page.locator(".processing-inline")).to_have_count(0)
        assert page.evaluate("document.querySelector('.player').dataset.testMarker") == "early"
        expect(page.locator(".quality option")).to_have_text(["Auto"] + LADDER)
        expect(page.locator(".quality")).to_be_visible()
        expect(page.locator(".quality")).to_have_value("auto")
        wait_until_playing_past(page, at_completion["time"], timeout=60_000)
        state = player_state(page)
        assert state["src"] == source and state["mode"] == "hls", (source, state)
        assert page.evaluate("window.backwardJumps") == [], "the position jumped back at completion"
        assert page.evaluate("window.reloads") == 0, "the player reloaded its source at completion"
        # The new rungs play, from the same place.
        before = player_state(page)["time"]
        page.select_option(".quality", "240p")
        page.wait_for_function("() => { const v = document.querySelector('.player video'); return v.currentSrc.endsWith('/mp4/240p.mp4') && v.videoHeight === 240; }")
        wait_until_playing_past(page, before)
        page.locator(".player video").evaluate("v => v.pause()")   # paused, the controls (and the menu) stay in the picture
        screenshots(page, "watch-completed-after-early")
        # The storyboard, which exists only once complete, previews over the seek bar.
        seek = page.locator(".seek")
        box = seek.bounding_box()
        seek.hover(position={"x": box["width"] * 0.5, "y": box["height"] / 2})
        expect(page.locator(".preview-image")).to_be_visible()
        assert "storyboard.jpg" in page.locator(".preview-image").evaluate("e => getComputedStyle(e).backgroundImage")
        assert console.errors == [], console.errors


def fail_on_growing_playlists(page, answered):
    """Emulates a browser whose HLS fails on a playlist that still grows (Chromium 156 before it
    played them): a media playlist without #EXT-X-ENDLIST reaches the page as a broken body;
    complete ones, and the master, pass unchanged."""
    def handle(route, request):
        response = route.fetch()
        body = response.text()
        if "#EXTINF" in body and "#EXT-X-ENDLIST" not in body:
            answered.append("broken")
            route.fulfill(response=response, body="#EXTM3U\n#EXTINF:not-a-duration\n\x00\x01 not a playlist\n")
        else:
            answered.append("complete" if "#EXT-X-ENDLIST" in body else "master")
            route.fulfill(response=response)
    page.route(re.compile(r"/media/[^/]+/hls/.*\.m3u8(\?|$)"), handle)


def test_a_browser_that_cannot_play_the_growing_stream_waits_then_plays_the_completed_video(browser, media):
    """earlyPlaybackFailure: when the early player fails, the page goes back to the processing view
    with a note saying the video plays here once ready, does not retry the growing stream, and at
    completion plays the complete video normally (HLS, with the MP4 ladder in the menu)."""
    answered = []
    with early_video(browser, media, "Waits for completion", lambda page: fail_on_growing_playlists(page, answered)) as early:
        page, console, server = early.page, early.console, early.server
        page.evaluate("""() => {
            window.playersMade = 0;
            window.toasts = [];
            new MutationObserver((records) => {
                for (const r of records) for (const n of r.addedNodes) {
                    if (n.nodeType !== 1) continue;
                    if (n.matches('.player')) window.playersMade += 1;
                    if (n.matches('.toast')) window.toasts.push(n.textContent);
                }
            }).observe(document.body, { childList: true, subtree: true });
        }""")
        early.start_worker()
        note = page.locator(".processing-note")
        expect(note).to_have_text("This browser cannot play the video while it is encoding: it plays here as soon as it is ready.",
                                  timeout=120_000)
        assert server.video(early.video_id)["status"] == "processing", "the fallback came only at completion"
        assert "broken" in answered, answered
        # Back to the processing view: the overall progress in the stage (not beside a player),
        # the per-rendition bars in the renditions card.
        expect(page.locator(".player")).to_have_count(0)
        expect(page.locator(".stage .processing .processing-status")).to_contain_text(re.compile(r"Encoding|Saving|Finishing"))
        expect(page.locator(".processing-inline")).to_have_count(0)
        expect(page.locator(".rungs .rung")).to_have_count(len(LADDER))
        # The view keeps the player's box (16:9, at least 180 px), note included, down to phones:
        # nothing moves when the player takes its place.
        for width, height in [(1280, 800), (390, 844), (360, 740)]:
            page.set_viewport_size({"width": width, "height": height})
            box = page.locator(".stage").evaluate("e => [e.clientWidth, e.getBoundingClientRect().height]")
            assert abs(box[1] - max(180, box[0] * 9 / 16)) < 1.5, f"the processing view is {box[1]} px high at {width} px: {box}"
        page.set_viewport_size({"width": 1280, "height": 800})
        screenshots(page, "watch-early-playback-failed")
        # Further progress events do not try the growing stream again.
        made = page.evaluate("window.playersMade")
        status = page.locator(".processing-status").text_content()
        page.wait_for_function("s => document.querySelector('.processing-status')?.textContent !== s", arg=status, timeout=120_000)
        expect(note).to_be_visible()
        assert page.evaluate("window.playersMade") == made, "the page built the early player again"

        # Completion: the complete playlists play, adaptive, with every rung on offer.
        expect(page.locator(".player video")).to_be_attached(timeout=300_000)
        expect(note).to_have_count(0)
        expect(page.locator("table.renditions")).to_be_visible()
        expect(page.locator(".player")).to_have_attribute("data-mode", "hls")
        expect(page.locator(".quality option")).to_have_text(["Auto"] + LADDER)
        page.locator(".player video").evaluate("v => { v.muted = true; }")
        page.locator(".big-play").click()
        wait_until_playing_past(page, 1.0, timeout=60_000)
        assert "complete" in answered, answered
        # Neither "cannot be played" nor the MP4 fallback's message: nothing was said at all.
        assert page.evaluate("window.toasts") == [], page.evaluate("window.toasts")
        screenshots(page, "watch-completed-after-fallback")
        assert console.errors == [], console.errors
