"""The console in headless Chromium, with every request off this machine refused: log in, find
a customer by phone number, read the card; the analysis pages and the tag wiki; the campaign
flow (create from a tag, approve as another user, dispatch, track); switch to Chinese, with
no character of a page drawn as a missing glyph. Screenshots go to ``/tmp/console/``."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from platform_helpers import PASSWORD, make_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SCREENSHOTS = Path("/tmp/console")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium is not installed: run `make browser`"
    ),
]

#: The CJK characters of the page (and ``extra``) that the browser draws as the missing-glyph
#: box: each is drawn on a canvas in the page's font and compared with a code point no font
#: has (U+10FFFD, a noncharacter), as a reader would see the tofu.
MISSING_GLYPHS_JS = r"""
(extra) => {
  const text = document.body.innerText + extra;
  const cjk = /[\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF\u{20000}-\u{2FFFF}]/u;
  const chars = [...new Set([...text].filter(c => cjk.test(c)))];
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 64;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.font = '40px ' + getComputedStyle(document.body).fontFamily;
  const pixels = (c) => {
    ctx.clearRect(0, 0, 64, 64); ctx.fillText(c, 4, 48);
    return ctx.getImageData(0, 0, 64, 64).data.join(',');
  };
  const tofu = pixels('\u{10FFFD}');
  return {n: chars.length, missing: chars.filter(c => pixels(c) === tofu)};
}
"""
#: A CJK character (Extension B) no installed font draws: the check must find it missing.
UNDRAWN = "\U00020000"


def _no_font_draws(char: str) -> bool:
    found = subprocess.run(
        ["fc-list", f":charset={ord(char):x}"], capture_output=True, text=True, check=False
    )
    return found.returncode == 0 and not found.stdout.strip()


@contextlib.contextmanager
def _serve(warehouse):
    import uvicorn

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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(world_warehouse):
    warehouse, customers = world_warehouse
    with _serve(warehouse) as base:
        yield base, customers


@pytest.fixture
def own_server(world_warehouse, tmp_path):
    """A server over a copy of the world (the campaign flow writes to it)."""
    warehouse, _ = world_warehouse
    copy = tmp_path / warehouse.name
    shutil.copy(warehouse, copy)  # with its Parquet folder and PII key, not its snapshots
    shutil.copytree(
        warehouse.with_name(warehouse.name + ".data"), copy.with_name(copy.name + ".data")
    )
    shutil.copy(warehouse.with_name(warehouse.name + ".pii.key"), tmp_path)
    with _serve(copy) as base:
        yield base, copy


@dataclass
class Console:
    """One browser tab on the console: only ``base`` may be reached; page errors are kept."""

    base: str
    page: object
    outside: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def log_in(self, username: str, lands_on: str = "/console/") -> None:
        """Log in as ``username`` (logging out first when someone is) and land."""
        self.page.context.clear_cookies()
        self.page.goto(f"{self.base}/console/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("#login-submit")
        self.page.wait_for_url(f"{self.base}{lands_on}")

    def submit(self, selector: str) -> None:
        """Click a form's button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def missing_glyphs(self) -> list[str]:
        """CJK characters of the page drawn as the missing-glyph box (none on a good page);
        checks on the way that the check sees a character no font has."""
        found = self.page.evaluate(MISSING_GLYPHS_JS, UNDRAWN)
        assert found["n"] > 1
        if _no_font_draws(UNDRAWN):
            assert UNDRAWN in found["missing"]  # the check can see a missing glyph
        return [c for c in found["missing"] if c != UNDRAWN]


@pytest.fixture
def console():
    """A headless Chromium tab that reaches nothing but the console under test."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        tab = Console("", page)
        page.on("pageerror", lambda exc: tab.problems.append(str(exc)))

        def only_local(route):
            if tab.base and route.request.url.startswith(tab.base):
                route.continue_()
            else:
                tab.outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        yield tab
        browser.close()
    assert tab.outside == [] and tab.problems == []


def test_log_in_find_a_customer_by_phone_and_switch_to_chinese(server, console):
    base, customers = server
    console.base = base
    page = console.page
    row = next(r for r in customers[10:] if r["msisdn"])
    page.goto(f"{base}/console/customer")  # logged out: sent to the login page
    assert page.url == f"{base}/console/login"
    console.log_in("agent", lands_on="/console/customer")  # an agent lands on the search
    page.fill("#phone", row["msisdn"])
    page.click("#find")
    page.wait_for_selector("#card-title")
    title = page.inner_text("#card-title")
    assert row["customer_id"] in title
    assert row["msisdn"] not in page.content()  # an agent sees the number masked
    assert row["msisdn"][-4:] in title and "*" in title
    assert page.locator("#card-profile tr").count() >= 8
    console.shot("card-en")
    page.click("#lang-zh")
    page.wait_for_load_state()
    page.fill("#phone", row["msisdn"])
    page.click("#find")
    page.wait_for_selector("#card-title")
    assert "客户" in page.inner_text("#card-title")
    assert "基本信息" in page.inner_text("#card-profile")
    assert "品牌" in page.inner_text("#card-profile")
    assert console.missing_glyphs() == []
    console.shot("card-zh")


def test_the_analysis_pages_and_the_tag_wiki_in_both_languages(server, console):
    base, _ = server
    console.base = base
    page = console.page
    console.log_in("analyst")

    page.click("#nav-channels")
    page.wait_for_selector("#channel-table")
    assert page.locator("#channel-table tr").count() > 3
    page.select_option("select[name=by]", "region")
    page.click("#channel-filter button")
    page.wait_for_url("**/console/channels?*by=region*")
    assert page.locator("#channel-table th").count() == 11  # with the region column
    console.shot("channels-en")

    page.click("#nav-ivr")
    page.wait_for_selector("#sankey .sankey-node")  # Plotly drew the menu
    assert page.locator("#sankey .sankey-node").count() > 5
    assert page.locator("#lost-table tr").count() > 2
    console.shot("ivr-en")

    page.click("#nav-recommendations")
    page.wait_for_selector("#recommendation-table")
    console.shot("recommendations-en")

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
    console.shot("tag-wiki-en")

    page.click("#lang-zh")
    page.wait_for_load_state()
    assert "评分与评论" in page.inner_text("#tag-wiki")
    assert console.missing_glyphs() == []
    console.shot("tag-wiki-zh")
    page.click("#nav-channels")
    page.wait_for_selector("#channel-table")
    assert "渠道" in page.inner_text("#channel-table")
    assert console.missing_glyphs() == []
    console.shot("channels-zh")
    page.click("#nav-ivr")
    page.wait_for_selector("#sankey .sankey-node")
    assert "客户在哪里迷路" in page.inner_text("main")
    assert console.missing_glyphs() == []
    console.shot("ivr-zh")
    page.click("#nav-recommendations")
    page.wait_for_selector("#recommendation-table")
    assert "菜单优化建议" in page.inner_text("main")
    assert console.missing_glyphs() == []
    console.shot("recommendations-zh")


def _states(page, campaign_id: str) -> dict[str, int]:
    cells = page.locator(f"#campaign-{campaign_id} td[data-state]")
    return {
        cells.nth(i).get_attribute("data-state"): int(cells.nth(i).inner_text().replace(",", ""))
        for i in range(cells.count())
    }


def _biggest_tag(warehouse: Path) -> str:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(
            "SELECT tag_id FROM mart_tag_membership WHERE month = "
            "(SELECT max(month) FROM mart_tag_membership) "
            "GROUP BY tag_id ORDER BY count(*) DESC, tag_id LIMIT 1"
        ).fetchone()[0]


def test_create_a_campaign_from_a_tag_approve_it_as_another_user_dispatch_and_track(
    own_server, console
):
    base, warehouse = own_server
    console.base = base
    page = console.page
    tag = _biggest_tag(warehouse)

    # The campaign manager starts a campaign from the tag's wiki page.
    console.log_in("campaign_manager")
    page.goto(f"{base}/console/tags/{tag}")
    page.click("#campaign-from-tag")
    page.wait_for_selector("#campaign-form")
    assert page.locator("#f-tag").input_value() == tag
    page.fill("#f-id", "store_to_app")
    page.fill("#f-name-en", "Store payers to the app")
    page.fill("#f-name-zh", "营业厅缴费转手机应用")
    page.select_option("#f-action", "divert_store_payment_to_self_service")
    page.select_option("#f-channel", "app")
    page.fill("#f-holdout", "1.5")  # a mistake first: said next to the field
    page.fill("#f-budget", "20000")
    console.submit("#create")
    page.wait_for_selector("#error-holdout_share")
    assert "must be less than 1" in page.inner_text("#error-holdout_share")
    assert page.locator("#f-name-zh").input_value() == "营业厅缴费转手机应用"  # kept
    console.shot("campaign-form-error-en")
    page.fill("#f-holdout", "0.25")
    console.submit("#create")
    page.wait_for_selector("#created")
    assert "store_to_app version 1 created" in page.inner_text("#created")
    created = _states(page, "store_to_app")["created"]
    assert created > 0
    assert page.locator("#approve-store_to_app").count() == 0  # not theirs to approve
    console.shot("campaign-created-en")

    # The administrator creates one too (by upload) and may not approve their own.
    console.log_in("admin")
    page.goto(f"{base}/console/campaigns")
    page.click("#create-campaign summary")
    definition = (
        "id: admin_own\nname: {en: Own, zh: 自建}\naction: divert_store_payment_to_self_service\n"
        f"audience: {{tags: [{tag}]}}\nholdout_share: 0.3\n"
    )
    page.set_input_files(
        "#f-file",
        files=[{"name": "own.yaml", "mimeType": "text/yaml", "buffer": definition.encode()}],
    )
    console.submit("#upload")
    page.wait_for_selector("#created")
    assert page.locator("#approve-admin_own").count() == 0
    assert "another user approves" in page.inner_text("#own-admin_own")
    # Forcing the approval anyway (the button is not there) is refused by the flow.
    with page.expect_navigation():
        page.evaluate(
            """() => { const f = document.createElement('form'); f.method = 'post';
        f.action = '/console/campaigns/admin_own/approve';
        const t = document.createElement('input'); t.type = 'hidden'; t.name = 'csrf_token';
        t.value = document.querySelector('input[name=csrf_token]').value; f.appendChild(t);
        document.body.appendChild(f); f.submit(); }"""
        )
    page.wait_for_selector("#error")
    assert "'admin' created the work orders" in page.inner_text("#error")
    console.shot("campaign-own-approval-refused-en")

    # The approver approves the campaign manager's campaign.
    console.log_in("approver")
    page.goto(f"{base}/console/campaigns")
    console.submit("#approve-store_to_app")
    page.wait_for_selector("#campaign-store_to_app")
    assert _states(page, "store_to_app")["approved"] == created
    assert _states(page, "store_to_app")["created"] == 0
    assert page.locator("#dispatch-store_to_app").count() == 0  # an approver does not dispatch

    # The campaign manager dispatches and opens the tracking page, then switches to Chinese.
    console.log_in("campaign_manager")
    page.goto(f"{base}/console/campaigns")
    console.submit("#dispatch-store_to_app")
    page.wait_for_selector("#dispatched")
    states = _states(page, "store_to_app")
    assert states["dispatched"] > 0 and states["dispatched"] + states["held_back"] == created
    files = list((warehouse.parent / "work_orders").glob("store_to_app-*.csv"))
    assert len(files) == 1
    assert len(files[0].read_text().splitlines()) == states["dispatched"] + 1  # and a header
    console.shot("campaign-dispatched-en")
    page.click("#open-store_to_app")
    page.wait_for_selector("#campaign-title")
    assert "Store payers to the app" in page.inner_text("#campaign-title")
    dispatched = page.locator("#campaign-orders td[data-state=dispatched]").inner_text()
    assert int(dispatched.replace(",", "")) == states["dispatched"]
    assert page.locator("#no-tracking").count() == 1  # no month after the selection yet
    console.shot("campaign-tracking-en")
    page.click("#lang-zh")
    page.wait_for_selector("#campaign-title")
    assert "营业厅缴费转手机应用" in page.inner_text("#campaign-title")
    assert "尚无跟踪数据" in page.inner_text("#no-tracking")
    assert "手机应用" in page.inner_text("#campaign-definition")
    assert console.missing_glyphs() == []
    console.shot("campaign-tracking-zh")
    page.click("#nav-campaigns")
    page.wait_for_selector("#campaign-list")
    page.click("#create-campaign summary")
    page.fill("#f-id", "坏")
    console.submit("#create")
    page.wait_for_selector("#error-id")
    assert "只能用小写字母" in page.inner_text("#error-id")
    assert "必填" not in page.inner_text("#error-id")
    assert console.missing_glyphs() == []
    console.shot("campaigns-zh")
