"""The console in headless Chromium, with every request off this machine refused: log in, find
a customer by phone number, read the card, switch to Chinese."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from platform_helpers import PASSWORD, make_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SCREENSHOTS = Path("/tmp/touchpoint-console-screenshots")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium is not installed: run `make browser`"
    ),
]


@pytest.fixture
def server(world_warehouse):
    import uvicorn

    warehouse, customers = world_warehouse
    app, _ = make_app(warehouse)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", customers
    server.should_exit = True
    thread.join(timeout=10)


def test_log_in_find_a_customer_by_phone_and_switch_to_chinese(server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, customers = server
    row = next(r for r in customers[10:] if r["msisdn"])
    SCREENSHOTS.mkdir(exist_ok=True)
    outside: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda exc: problems.append(str(exc)))

        def only_local(route):
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.goto(f"{base}/console/customer")  # logged out: sent to the login page
        assert page.url == f"{base}/console/login"
        page.fill("#username", "agent")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"{base}/console/customer")  # an agent lands on the search
        page.fill("#phone", row["msisdn"])
        page.click("#find")
        page.wait_for_selector("#card-title")
        title = page.inner_text("#card-title")
        assert row["customer_id"] in title
        assert row["msisdn"] not in page.content()  # an agent sees the number masked
        assert row["msisdn"][-4:] in title and "*" in title
        assert page.locator("#card-profile tr").count() >= 8
        page.screenshot(path=str(SCREENSHOTS / "card-en.png"), full_page=True)
        page.click("#lang-zh")
        page.wait_for_load_state()
        page.fill("#phone", row["msisdn"])
        page.click("#find")
        page.wait_for_selector("#card-title")
        assert "客户" in page.inner_text("#card-title")
        assert "基本信息" in page.inner_text("#card-profile")
        assert "品牌" in page.inner_text("#card-profile")
        page.screenshot(path=str(SCREENSHOTS / "card-zh.png"), full_page=True)
        browser.close()
    assert outside == [] and problems == []
    shutil.copy(SCREENSHOTS / "card-zh.png", tmp_path / "card-zh.png")


def test_the_analysis_pages_and_the_tag_wiki_in_both_languages(server):
    from playwright.sync_api import sync_playwright

    base, _ = server
    SCREENSHOTS.mkdir(exist_ok=True)
    outside: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda exc: problems.append(str(exc)))

        def only_local(route):
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.goto(f"{base}/console/login")
        page.fill("#username", "analyst")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"{base}/console/")

        page.click("#nav-channels")
        page.wait_for_selector("#channel-table")
        assert page.locator("#channel-table tr").count() > 3
        page.select_option("select[name=by]", "region")
        page.click("#channel-filter button")
        page.wait_for_url("**/console/channels?*by=region*")
        assert page.locator("#channel-table th").count() == 11  # with the region column
        page.screenshot(path=str(SCREENSHOTS / "channels-en.png"), full_page=True)

        page.click("#nav-ivr")
        page.wait_for_selector("#sankey .sankey-node")  # Plotly drew the menu
        assert page.locator("#sankey .sankey-node").count() > 5
        assert page.locator("#lost-table tr").count() > 2
        page.screenshot(path=str(SCREENSHOTS / "ivr-en.png"), full_page=True)

        page.click("#nav-recommendations")
        page.wait_for_selector("#recommendation-table")
        page.screenshot(path=str(SCREENSHOTS / "recommendations-en.png"), full_page=True)

        page.goto(f"{base}/console/tags")
        page.locator("#tag-list a").first.click()
        page.wait_for_selector("#tag-wiki")
        page.select_option("#stars", "4")
        page.click("#rate")
        page.wait_for_selector("#tag-rating")
        assert "4.0" in page.inner_text("#tag-rating") and "(1)" in page.inner_text("#tag-rating")
        page.fill("#comment", "Works for the billing queue 对账")
        page.click("#send-comment")
        page.wait_for_selector("#tag-comments li strong")
        assert "对账" in page.inner_text("#tag-comments")
        assert "analyst" in page.inner_text("#tag-comments")
        page.screenshot(path=str(SCREENSHOTS / "tag-wiki-en.png"), full_page=True)

        page.click("#lang-zh")
        page.wait_for_load_state()
        assert "评分与评论" in page.inner_text("#tag-wiki")
        page.screenshot(path=str(SCREENSHOTS / "tag-wiki-zh.png"), full_page=True)
        page.click("#nav-channels")
        page.wait_for_selector("#channel-table")
        assert "渠道" in page.inner_text("#channel-table")
        page.screenshot(path=str(SCREENSHOTS / "channels-zh.png"), full_page=True)
        page.click("#nav-ivr")
        page.wait_for_selector("#sankey .sankey-node")
        assert "客户在哪里迷路" in page.inner_text("main")
        page.screenshot(path=str(SCREENSHOTS / "ivr-zh.png"), full_page=True)
        page.click("#nav-recommendations")
        page.wait_for_selector("#recommendation-table")
        assert "菜单优化建议" in page.inner_text("main")
        page.screenshot(path=str(SCREENSHOTS / "recommendations-zh.png"), full_page=True)
        browser.close()
    assert outside == [] and problems == []
