"""Photograph the running demo for the README.

    civitas demo &                      # or any server with the demo city
    .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]
                                            [--only NAME ...]

Drives Debian's Chromium through Playwright; signs in as the demo dispatcher. Besides the fixed
pages it photographs an alert (a space-time cluster, else a burst), a risk in the register (when
the demo has none, it makes one by promoting that alert through the alert page's form) and a
stability assessment (only when the demo has one).

The data-sharing hub is photographed as the demo users who see each side of it: an analyst of
the street office reading accidents through its grant, the market steward deciding a request,
the traffic steward looking at who used its data and at a batch with a bad row. When the
accidents have no batch with bad rows, the script uploads a small CSV with one through the
upload form: the batch is rejected whole, so no record is added. Run it only against a demo.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

PAGES = [
    ("home", "/", "en"),
    ("city", "/city/", "en"),
    ("jurisdiction", "/city/j/DC/", "en"),
    ("jurisdiction-zh", "/city/j/DC-D01/", "zh-hans"),
    ("matters", "/matters/", "zh-hans"),
    ("responsibility", "/responsibilities/", "en"),
    ("workbench", "/work/", "en"),
    ("desk", "/desk/", "zh-hans"),
    ("assessment", "/assessment/", "en"),
    ("command", "/command/", "en"),
    ("command-wall", "/command/?wall=1", "zh-hans"),
    ("risk-report-zh", "/risk/reports/", "zh-hans"),
]
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
# Pages photographed at another size: the wall screen at its own, the alert tall enough to show
# why it fired and the map of its appeals together.
VIEWPORTS: dict[str, ViewportSize] = {
    "command-wall": {"width": 1920, "height": 1080},
    "alert": {"width": 1280, "height": 1640},
    "hub-dataset-zh": {"width": 1280, "height": 1300},
    "hub-data": {"width": 1280, "height": 1000},
    "hub-grant": {"width": 1280, "height": 1400},
    "hub-usage": {"width": 1280, "height": 1000},
    "hub-batch": {"width": 1280, "height": 1480},
    "profile": {"width": 1280, "height": 1760},
}
# The demo's sign-ins (public, printed by `civitas demo`): a data steward's and an analyst's
# password is the same for every user of the role.
DEMO_PASSWORDS = {
    "dispatcher": "demo-dispatcher-2026",
    "analyst": "demo-analyst-2026",
    "analyst-street": "demo-analyst-2026",
    "steward-market": "demo-data_steward-2026",
    "steward-traffic": "demo-data_steward-2026",
}
ACCIDENTS = "dc-traffic-accidents"
PROFILE = "DC-D01-S01"  # Wangchao, the street of the demo's accidents cluster
# A small file for the accidents: the third row has an impossible date and words for a number.
BAD_ACCIDENTS = [
    "accident_no,occurred_on,occurred_at,lat,lon,road,severity,cause,"
    "vehicles,injured,deaths,driver_phone",
    "DC2026112700901,2026-11-26,07:42,28.8412,123.2903,望潮路与锦桥街交叉口,财产损失,追尾,"
    "2,0,0,13800138000",
    "DC2026112700902,2026-11-26,18:15,28.8335,123.2871,望潮路与锦桥街交叉口,伤人事故,闯红灯,"
    "2,1,0,13900139000",
    "DC2026112700903,2026-11-31,08:05,28.8420,123.2911,港城区望潮街道锦桥街20号附近,财产损失,"
    "未按规定让行,two,0,0,13700137000",
]


def shoot(page: Page, out: Path, name: str, url: str | None = None) -> None:
    page.set_viewport_size(VIEWPORTS.get(name, LAPTOP))
    if url is not None:
        page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)  # let the map finish its first animation
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"{name}: {out / f'{name}.png'}")
    page.set_viewport_size(LAPTOP)


def sign_in(browser: Browser, base: str, user: str, password: str) -> tuple[BrowserContext, Page]:
    """A browser context of its own for each user: their cookies never mix."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("form.card button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/login/" in page.url:
        raise SystemExit(f"could not sign in as {user}: is this the demo?")
    return context, page


def set_language(context: BrowserContext, base: str, language: str) -> None:
    context.add_cookies([{"name": "civitas_language", "value": language, "url": base}])


def first_link(page: Page, url: str, selector: str) -> str | None:
    page.goto(url)
    link = page.locator(selector).first
    return link.get_attribute("href") if link.count() else None


def risk_pages(page: Page, base: str, out: Path, wanted: set[str] | None) -> None:
    """An alert with the map of its appeals, a risk of the register, a stability assessment."""
    alert = None
    for kind in ("cluster", "burst"):
        alert = first_link(page, f"{base}/risk/alerts/?kind={kind}", "table.alerts tbody a")
        if alert:
            break
    if alert is None:
        print("alert: skipped, the demo has no cluster or burst alert")
    elif wanted is None or "alert" in wanted:
        shoot(page, out, "alert", base + alert)
    risk = first_link(page, f"{base}/risk/risks/", 'table a[href^="/risk/risks/"]')
    if risk is None and alert is not None and (wanted is None or "risk" in wanted):
        # A demo opens with alerts but no risk: make one the way staff do, from the alert.
        page.goto(base + alert)
        form = page.locator("#promote-form")
        if form.count():
            owner = form.locator("select[name=owner_unit] option").nth(1).get_attribute("value")
            form.locator("select[name=owner_unit]").select_option(owner)
            form.locator("select[name=level]").select_option("orange")
            form.locator("textarea[name=measures]").fill(
                "Flush and sample the mains around the cluster; bottled water for the residents "
                "until the samples are clean; tell the community office daily."
            )
            form.locator("button[type=submit]").click()
            page.wait_for_load_state("networkidle")
            if "/risk/risks/" in page.url:
                risk = page.url.removeprefix(base)
    if risk is None:
        if wanted is None or "risk" in wanted:
            print("risk: skipped, the demo has no risk and no alert to promote")
    elif wanted is None or "risk" in wanted:
        shoot(page, out, "risk", base + risk)
    stability = first_link(page, f"{base}/risk/stability/", 'a.ticket[href^="/risk/stability/"]')
    if stability is None:
        if wanted is None or "stability" in wanted:
            print("stability: skipped, the demo has no stability assessment")
    elif wanted is None or "stability" in wanted:
        shoot(page, out, "stability", base + stability)


def bad_batch(page: Page, base: str) -> str | None:
    """A batch of the accidents with bad rows; uploads the small bad file when there is none."""
    page.goto(f"{base}/hub/datasets/{ACCIDENTS}/")
    for row in page.locator("table.hub-batches tbody tr").all():
        if row.locator("td").nth(6).inner_text().strip() not in ("", "0"):
            return row.locator("a").first.get_attribute("href")
    if not page.locator("#upload-form").count():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "accidents-with-a-bad-row.csv"
        csv.write_text("\n".join(BAD_ACCIDENTS) + "\n", encoding="utf-8")
        page.set_input_files("#upload-file", str(csv))
        page.check("#upload-form input[name=mode][value=append]")
        page.click("#upload-form button[type=submit]")
        page.wait_for_load_state("networkidle")
    return page.url.removeprefix(base) if re.search(r"/hub/batches/\d+/", page.url) else None


def hub_pages(browser: Browser, base: str, out: Path, wanted: set[str] | None) -> None:
    """The hub as each side sees it: catalogue, a dataset, reading, deciding, usage, loading."""

    def want(*names: str) -> bool:
        return wanted is None or any(n in wanted for n in names)

    def as_user(user: str, language: str, work: Callable[[Page], None]) -> None:
        context, page = sign_in(browser, base, user, DEMO_PASSWORDS[user])
        set_language(context, base, language)
        work(page)
        context.close()

    if want("hub-catalogue"):
        as_user("analyst", "en", lambda p: shoot(p, out, "hub-catalogue", f"{base}/hub/"))
    if want("hub-dataset-zh"):
        as_user(
            "steward-traffic",
            "zh-hans",
            lambda p: shoot(p, out, "hub-dataset-zh", f"{base}/hub/datasets/{ACCIDENTS}/"),
        )
    if want("hub-data"):
        # The dataset page links the read through the street office's grant.
        def data(p: Page) -> None:
            link = first_link(p, f"{base}/hub/datasets/{ACCIDENTS}/", 'a[href*="/data/?grant="]')
            if link is None:
                print("hub-data: skipped, analyst-street has no grant to the accidents")
                return
            p.goto(base + link)
            p.wait_for_load_state("networkidle")
            # The masked phones are the last column: show it whole, as a reader scrolls to it.
            p.eval_on_selector_all(".table-wrap", "els => els.forEach(e => e.scrollLeft = 1e6)")
            shoot(p, out, "hub-data")

        as_user("analyst-street", "en", data)
    if want("hub-grant"):

        def grant(p: Page) -> None:
            link = first_link(p, f"{base}/hub/grants/?tab=decide", "table.grants tbody a")
            if link is None:
                print("hub-grant: skipped, steward-market has no request to decide")
                return
            shoot(p, out, "hub-grant", base + link)

        as_user("steward-market", "en", grant)
    if want("hub-usage"):
        as_user(
            "steward-traffic",
            "en",
            lambda p: shoot(p, out, "hub-usage", f"{base}/hub/datasets/{ACCIDENTS}/usage/"),
        )
    if want("hub-batch"):

        def batch(p: Page) -> None:
            link = bad_batch(p, base)
            if link is None:
                print("hub-batch: skipped, steward-traffic could not make a batch with a bad row")
                return
            shoot(p, out, "hub-batch", base + link)

        as_user("steward-traffic", "en", batch)
    if want("profile"):
        # A street's profile as the 12345 centre's analyst: its grants count people and firms.
        as_user(
            "analyst", "en", lambda p: shoot(p, out, "profile", f"{base}/city/j/{PROFILE}/profile/")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--user", default="dispatcher")
    parser.add_argument("--password", default="demo-dispatcher-2026")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="photograph only these (e.g. command alert risk)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context, page = sign_in(browser, args.base, args.user, args.password)
        wanted = set(args.only) if args.only else None
        for name, path, language in PAGES:
            if wanted is not None and name not in wanted:
                continue
            set_language(context, args.base, language)
            shoot(page, args.out, name, args.base + path)
        set_language(context, args.base, "en")
        risk_pages(page, args.base, args.out, wanted)
        context.close()
        hub_pages(browser, args.base, args.out, wanted)
        browser.close()


if __name__ == "__main__":
    main()
