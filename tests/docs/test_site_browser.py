"""The documentation site in a real browser (issue 14.2).

``site/`` (``make docs``) is served on 127.0.0.1 by a local HTTP server and driven by headless
Chromium (Debian's ``chromium``, through the ``playwright`` package with
``executable_path``): the home page, the figure table (typing in the search box filters the
rows), the gallery (every image decodes: ``naturalWidth > 0``) and one report load without
a console error and without any request leaving 127.0.0.1 (the site is offline-capable).
Screenshots go to ``build/screenshots/`` for review.

Skipped, with the reason, when ``site/`` is not built or Chromium is not installed
(``apt-get install -y chromium``); CI installs it and builds the site first (``.ci/run``).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from analysis import paths

SITE = paths.repo_root() / "site"
SCREENSHOTS = paths.repo_root() / "build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

REQUIRED = os.environ.get("TAKEDOWNS_REQUIRE_BROWSER") == "1"
"""CI and ``make docs-test`` set it: a missing site or browser is then a failure, not a skip."""


def _skip(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"TAKEDOWNS_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if not (SITE / "index.html").is_file():
    _skip("site/ is not built: run `make docs` first")
if not CHROMIUM.is_file() and shutil.which("chromium") is None:
    _skip("Chromium is not installed: `apt-get install -y chromium` (Debian package)")
try:
    from playwright import sync_api
except ImportError:
    _skip("the playwright package is missing (dev dependency)")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    executable = str(CHROMIUM if CHROMIUM.is_file() else shutil.which("chromium"))
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=FLAGS
        )
        try:
            yield context
        finally:
            context.close()


class Visit:
    """A page with its console errors, uncaught exceptions and requests off 127.0.0.1."""

    def __init__(self, context: object, url: str) -> None:
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.response = self.page.goto(url, wait_until="load")

    def _route(self, route: object) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", None) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def check_clean(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
        assert self.response is not None and self.response.ok, name
        assert self.errors == [], f"{name}: console errors {self.errors}"
        assert self.external == [], f"{name}: requests leaving 127.0.0.1 {self.external}"
        self.page.close()


def test_home_page(server: str, browser: object) -> None:
    visit = Visit(browser, f"{server}/index.html")
    assert "takedown-dynamics" in visit.page.title()
    assert visit.page.locator("a[href*='figures']").count() > 0
    visit.check_clean("home")


def test_figure_table_filters_rows(server: str, browser: object) -> None:
    visit = Visit(browser, f"{server}/figures.html")
    page = visit.page
    box = page.locator("input[data-filter-table='table-figures']")
    rows = page.locator("#table-figures tbody tr")
    total = rows.count()
    assert total > 100
    visible = "#table-figures tbody tr:not([hidden])"
    box.fill("telegram")
    kept = page.locator(visible)
    n_kept = kept.count()
    assert 0 < n_kept < total
    texts = kept.all_inner_texts()
    assert all("telegram" in t.lower() for t in texts)
    counter = page.locator("[data-count-for='table-figures']").inner_text()
    assert counter == f"{n_kept} of {total} rows"
    box.fill("telegram 2019")  # every word must match
    assert 0 < page.locator(visible).count() < n_kept
    page.screenshot(path=str(SCREENSHOTS / "figures-filtered.png"))
    box.fill("no-such-text-anywhere")
    assert page.locator(visible).count() == 0
    box.fill("")
    assert page.locator(visible).count() == total
    visit.check_clean("figures")


def test_gallery_images_load(server: str, browser: object) -> None:
    visit = Visit(browser, f"{server}/gallery.html")
    page = visit.page
    images = page.locator("article img")
    if images.count() == 0:
        pytest.skip("the gallery has no figures: run `make figures` before `make docs`")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('article img')).every(i => i.complete)"
    )
    widths = page.eval_on_selector_all("article img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == images.count() and min(widths) > 0, widths
    visit.check_clean("gallery")


def test_one_report_loads(server: str, browser: object) -> None:
    reports = sorted((SITE / "reports").glob("[0-9][0-9]_*.html"))
    if not reports:
        pytest.skip("no report in site/reports: run `make figures` before `make docs`")
    visit = Visit(browser, f"{server}/reports/{reports[0].name}")
    page = visit.page
    assert re.match(r"\d\d ", page.title()), page.title()
    assert "built from data checked up to" in page.inner_text("body")
    assert page.locator(".jp-InputArea-editor, .jp-InputPrompt").count() == 0  # code hidden
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    assert widths and min(widths) > 0
    visit.check_clean("report")
