"""Photograph the running demo for the README.

    civitas demo &                      # or any server with the demo city
    .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]
                                            [--only NAME ...]

Drives Debian's Chromium through Playwright; signs in as the demo dispatcher. Besides the fixed
pages it photographs an alert (a space-time cluster, else a burst), a risk in the register (when
the demo has none, it makes one by promoting that alert through the alert page's form) and a
stability assessment (only when the demo has one).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

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
}


def shoot(page: Page, out: Path, name: str, url: str | None = None) -> None:
    page.set_viewport_size(VIEWPORTS.get(name, LAPTOP))
    if url is not None:
        page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)  # let the map finish its first animation
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"{name}: {out / f'{name}.png'}")
    page.set_viewport_size(LAPTOP)


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
        print("risk: skipped, the demo has no risk and no alert to promote")
    elif wanted is None or "risk" in wanted:
        shoot(page, out, "risk", base + risk)
    stability = first_link(page, f"{base}/risk/stability/", 'a.ticket[href^="/risk/stability/"]')
    if stability is None:
        print("stability: skipped, the demo has no stability assessment")
    elif wanted is None or "stability" in wanted:
        shoot(page, out, "stability", base + stability)


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
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        page.goto(f"{args.base}/login/")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", args.password)
        page.click("form.card button[type=submit]")
        page.wait_for_load_state("networkidle")
        wanted = set(args.only) if args.only else None
        for name, path, language in PAGES:
            if wanted is not None and name not in wanted:
                continue
            context.add_cookies([{"name": "civitas_language", "value": language, "url": args.base}])
            shoot(page, args.out, name, args.base + path)
        context.add_cookies([{"name": "civitas_language", "value": "en", "url": args.base}])
        risk_pages(page, args.base, args.out, wanted)
        browser.close()


if __name__ == "__main__":
    main()
