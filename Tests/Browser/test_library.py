"""The library against a `vidd serve` of its own (no worker: submitted videos stay queued, so the
listing is exactly what the test put there): the empty state, pages over 60 videos, search,
filters, and the pages' URLs with back and forward."""
import re
import shutil

import pytest
from playwright.sync_api import expect

from conftest import FIXTURES, screenshots
from vidd import Vidd


@pytest.fixture(scope="module")
def library(services):
    server = Vidd("browser_library", command="serve")
    yield server
    server.stop()


def test_empty_library_invites_an_upload(library, page):
    page.goto(library.base + "/")
    expect(page.get_by_text("No videos yet")).to_be_visible()
    expect(page.get_by_role("link", name="Upload a video")).to_have_attribute("href", "/upload")
    screenshots(page, "library-empty")
    favicon = page.request.get(library.base + "/favicon.ico")
    assert favicon.status == 200 and favicon.headers["content-type"] == "image/vnd.microsoft.icon"


@pytest.fixture(scope="module")
def sixty(library):
    """Videos 01…60, submitted in that order through the API's JSON form (one stored source)."""
    source = library.storage / "source" / "seed" / "clip.mp4"
    source.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "landscape_720p.mp4", source)
    ids = []
    for n in range(1, 61):
        r = library.request("POST", "/jobs", json_body={"source_key": "source/seed/clip.mp4", "title": f"Video {n:02d}"})
        assert r.status == 202, r.body
        ids.append(r.json()["id"])
    return ids


def test_pagination_reaches_the_oldest_of_60_videos(library, page, sixty):
    page.goto(library.base + "/")
    expect(page.locator(".library-count")).to_have_text("60 videos")
    expect(page.locator(".video-card")).to_have_count(24)
    expect(page.locator(".video-card").first.locator(".card-title")).to_have_text("Video 60")   # newest first
    page.get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(library.base + "/?page=2")
    expect(page.locator(".video-card").first.locator(".card-title")).to_have_text("Video 36")
    page.get_by_role("link", name="Page 3").click()
    expect(page).to_have_url(library.base + "/?page=3")
    expect(page.locator(".video-card")).to_have_count(12)
    expect(page.locator(".video-card").last.locator(".card-title")).to_have_text("Video 01")
    expect(page.locator('.page[aria-current="page"]')).to_have_text("3")
    # The oldest is one click away, and its page is a URL of its own.
    page.locator(".video-card").last.get_by_role("link").click()
    expect(page.locator(".video-title")).to_have_text("Video 01")
    expect(page.locator(".processing-status")).to_have_text("Waiting for a worker")
    page.go_back()
    expect(page).to_have_url(library.base + "/?page=3")
    expect(page.locator(".video-card").last.locator(".card-title")).to_have_text("Video 01")
    page.go_back()
    expect(page).to_have_url(library.base + "/?page=2")
    page.reload()
    expect(page.locator(".video-card").first.locator(".card-title")).to_have_text("Video 36")
    # Cards are links: reachable and opened with the keyboard.
    page.locator(".video-card").first.get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".video-title")).to_have_text("Video 36")


def test_search_finds_a_title(library, page, sixty):
    page.goto(library.base + "/")
    search = page.get_by_role("searchbox", name="Search videos")
    search.fill("video 42")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?q=video(\+|%20)42$"))
    expect(page.get_by_role("heading", name="Results for “video 42”")).to_be_visible()
    expect(page.locator(".video-card .card-title")).to_have_text(["Video 42"])
    expect(page.locator(".library-count")).to_have_text("1 video")
    search.fill("VIDEO 4")
    search.press("Enter")
    expect(page.locator(".library-count")).to_have_text("10 videos")
    expect(page.locator(".video-card .card-title")).to_have_text([f"Video {n}" for n in range(49, 39, -1)])
    search.fill("100%")
    search.press("Enter")
    expect(page.get_by_text("No videos match “100%”.")).to_be_visible()
    page.get_by_role("link", name="Show all videos").click()
    expect(page.locator(".library-count")).to_have_text("60 videos")
    # The status filter, kept in the URL too.
    page.get_by_role("link", name="Failed").click()
    expect(page).to_have_url(library.base + "/?status=failed")
    expect(page.get_by_text("No failed videos.")).to_be_visible()
    page.get_by_role("link", name="Queued").click()
    expect(page.locator(".library-count")).to_have_text("60 videos")
    expect(page.locator(".video-card .badge").first).to_have_text("Queued")
