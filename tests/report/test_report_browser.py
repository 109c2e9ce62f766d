"""Open the report in headless Chromium, offline, and check that every chart rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from touchpoint.config import load_config
from touchpoint.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium is not installed: run `make browser`"
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        yield browser
        browser.close()


def open_offline(browser, path: Path, screenshot: Path | None = None) -> dict:
    """Load ``path`` with every network request refused; return what the page showed."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    requested: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def refuse_network(route):
        requested.append(route.request.url)
        route.abort()

    page.route("http*://**", refuse_network)
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => window.Plotly !== undefined")
    page.wait_for_timeout(500)
    result = {
        "n_plots": page.locator(".js-plotly-plot").count(),
        "n_rendered": page.locator(".js-plotly-plot .main-svg").evaluate_all(
            "els => new Set(els.map(e => e.closest('.js-plotly-plot'))).size"
        ),
        "problems": problems,
        "requested": requested,
        "title": page.title(),
    }
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return result


@pytest.mark.parametrize(("lang", "title_word"), [("en", "report"), ("zh", "报告")])
def test_report_renders_offline_without_errors(browser, tiny_warehouse, tmp_path, lang, title_word):
    path = write_report(tiny_warehouse, load_config(), tmp_path / f"report.{lang}.html", lang=lang)
    shown = open_offline(browser, path, screenshot=tmp_path / f"report.{lang}.png")
    assert shown["n_plots"] >= 1
    assert shown["n_rendered"] == shown["n_plots"]
    assert shown["problems"] == []
    assert shown["requested"] == []  # nothing fetched from a network: fully self-contained
    assert title_word in shown["title"]
    keep = Path("/tmp/touchpoint-screenshots")
    if keep.parent.exists():  # left for a person to look at; not an assertion
        keep.mkdir(exist_ok=True)
        shutil.copy(tmp_path / f"report.{lang}.png", keep / f"report.{lang}.png")
