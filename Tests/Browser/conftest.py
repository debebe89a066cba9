"""Fixtures of the browser tests: Debian's chromium driven by Playwright, real vidd daemons on
the real Redis and PostgreSQL of scripts/services.sh (file storage), fixture media, and the
checks every page gets: no console errors, no horizontal scrolling, screenshots.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from vidd import ROOT, TMP, Vidd

CHROMIUM = os.environ.get("VIDD_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / ".tmp" / "browser-screenshots"
FIXTURES = ROOT / "Fixtures"
IN_CI = bool(os.environ.get("CI"))


def missing(what):
    # In CI a missing service or browser is a failure; locally the tests are skipped, loudly.
    message = f"{what}; run the tests with scripts/test.sh (or see README.md, 'Browser tests')"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def services():
    for variable in ("VIDD_TEST_PG_URL", "VIDD_TEST_REDIS_URL"):
        if not os.environ.get(variable):
            missing(f"{variable} is not set")
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"no chromium at {CHROMIUM} (scripts/install-deps.sh installs Debian's)")
    TMP.mkdir(parents=True, exist_ok=True)
    SHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def browser(services):
    with sync_playwright() as p:
        # No sandbox: CI runs as root. /dev/shm is small in many containers: use /tmp instead.
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def vidd(services):
    """One `vidd all` for the tests that upload and watch (a worker that transcodes)."""
    server = Vidd("browser", settings={"VIDD_WORKER_CONCURRENCY": "2"})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def media(services):
    """Fixture clips, made with ffmpeg where the repository has none of the kind."""
    directory = TMP / "media"
    directory.mkdir(parents=True, exist_ok=True)

    def make(name, size, seconds, rate=30):
        path = directory / name
        if not path.exists():
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc2=size={size}:rate={rate}", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                            "-c:a", "aac", "-movflags", "+faststart", str(path) + ".tmp.mp4"], check=True)
            (Path(str(path) + ".tmp.mp4")).rename(path)
        return path

    return {
        "landscape": FIXTURES / "landscape_720p.mp4",      # 1280×720, 2 s
        "corrupt": FIXTURES / "not_video.mp4",
        # Long enough (and big enough) to watch each rung's bar move while it is processed.
        "long": make("landscape_1280x720_16s.mp4", "1280x720", 16),
        # A phone video: portrait 720×1280, so the ladder is 720p, 480p, … by the short side.
        "portrait": make("portrait_720x1280_3s.mp4", "720x1280", 3),
        "six_seconds": make("landscape_640x360_6s.mp4", "640x360", 6),
        # Playable early: long enough that it plays well before its ladder is done.
        "sixty_seconds": make("landscape_640x360_60s.mp4", "640x360", 60),
    }


@pytest.fixture(scope="session")
def big_clip(services):
    """A video of more than 16 MiB (1 s of noise, lossless: ~25 MB), the size from which the page
    uploads through tus."""
    path = TMP / "media" / "lossless_noise_960x540_1s.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=960x540:rate=30",
                        "-vf", "noise=alls=40:allf=t", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
                        str(path) + ".tmp.mp4"], check=True)
        Path(str(path) + ".tmp.mp4").rename(path)
    assert path.stat().st_size > 16 * 1024 * 1024, path.stat().st_size
    return path


class ConsoleWatch:
    def __init__(self, page):
        self.errors = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text} ({m.location})") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


@pytest.fixture
def context(browser):
    """A fresh browser context (no storage, no cache) per test, 1280×800."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A page whose console must stay free of errors for the whole test."""
    p = context.new_page()
    watch = ConsoleWatch(p)
    p.console_watch = watch
    yield p
    assert watch.errors == [], "console errors:\n" + "\n".join(watch.errors)


VIEWPORTS = [(1280, 800), (390, 844)]


def screenshots(page, name):
    """The page at 1280×800 and 390×844, light and dark, into .tmp/browser-screenshots/; at each
    size (and at 360 px) nothing may be wider than the screen."""
    original = page.viewport_size
    try:
        for width, height in VIEWPORTS + [(360, 740)]:
            page.set_viewport_size({"width": width, "height": height})
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.wait_for_timeout(150)
                assert_no_sideways_scroll(page, f"{name} at {width} px ({scheme})")
                if (width, height) in VIEWPORTS:
                    page.evaluate("window.scrollTo(0, 0)")   # the sticky header stays on top of a full-page picture
                    page.screenshot(path=str(SHOTS / f"{name}-{width}x{height}-{scheme}.png"), full_page=True)
    finally:
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(original)


def assert_no_sideways_scroll(page, what):
    overflow = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('body *')].filter((e) => {
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) return false;
            // Inside an element that scrolls sideways on purpose (the filter chips) is fine.
            for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
                const s = getComputedStyle(p);
                if (s.overflowX !== 'visible' || s.clipPath !== 'none') return false;
            }
            return r.right > width + 1 || r.left < -1;
        }).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().left)}..${Math.round(e.getBoundingClientRect().right)}`);
        return { scroll: document.documentElement.scrollWidth, width, wide };
    }""")
    assert overflow["scroll"] <= overflow["width"] and not overflow["wide"], f"{what} scrolls sideways: {overflow}"


def player_state(page):
    """The player's <video>: what it plays, where, whether paused, and the player's mode (hls or mp4)."""
    return page.evaluate("""() => { const v = document.querySelector('.player video');
        return v && { src: v.currentSrc, time: v.currentTime, paused: v.paused, height: v.videoHeight,
                      ready: v.readyState, mode: document.querySelector('.player').dataset.mode }; }""")


def wait_until_playing_past(page, seconds, timeout=20_000):
    page.wait_for_function("t => { const v = document.querySelector('.player video'); return v && v.currentTime > t && !v.paused; }",
                           arg=seconds, timeout=timeout)
