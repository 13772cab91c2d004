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

Mediation and taking part are photographed as the demo users who use them: the street's mediator
on a dispute passed up from a community, the community's mediator checking which level the rules
choose for a new dispute (the form is only previewed, nothing is registered), the 12345 centre's
analyst on the figures; the public on the "Take part" page, a consultation and a suggestion, the
volunteer on "My participation" and the street office's leader on the moderation queue.
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
    "mediation-dispute": {"width": 1280, "height": 3000},
    "mediation-register": {"width": 1280, "height": 900},
    "mediation-figures-zh": {"width": 1280, "height": 1500},
    "participate": {"width": 1280, "height": 2600},
    "consultation-zh": {"width": 1280, "height": 1400},
    "moderation": {"width": 1280, "height": 1100},
}
# The demo's sign-ins (public, printed by `civitas demo`): a data steward's and an analyst's
# password is the same for every user of the role.
DEMO_PASSWORDS = {
    "dispatcher": "demo-dispatcher-2026",
    "analyst": "demo-analyst-2026",
    "analyst-street": "demo-analyst-2026",
    "steward-market": "demo-data_steward-2026",
    "steward-traffic": "demo-data_steward-2026",
    "mediator": "demo-mediator-2026",
    "mediator-community": "demo-mediator-2026",
    "volunteer": "demo-resident-2026",
    "leader": "demo-unit_leader-2026",
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


def as_user(
    browser: Browser, base: str, user: str | None, language: str, work: Callable[[Page], None]
) -> None:
    """Run work in a context of its own: signed in as a demo user, or signed out (None)."""
    if user is None:
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
    else:
        context, page = sign_in(browser, base, user, DEMO_PASSWORDS[user])
    set_language(context, base, language)
    work(page)
    context.close()


def rich_dispute(page: Page, base: str) -> str | None:
    """The street mediator's dispute with the most to show: passed up from a community, with
    sessions and an agreement (else the one among the closed with the most stages)."""
    links: list[str] = []
    for status in ("closed", "agreed", "all"):
        page.goto(f"{base}/mediation/?view=area&status={status}")
        for a in page.locator("table.disputes tbody a").all():
            href = a.get_attribute("href")
            if href and href not in links:
                links.append(href)
    best, best_score = None, -1
    for href in links[:40]:
        page.goto(base + href)
        stages = page.locator("#stages > li").count()
        sessions = page.locator("#sessions tbody tr").count()
        agreements = page.locator("article.agreement").count()
        score = min(stages, 2) * 4 + min(sessions, 2) * 2 + min(agreements, 1) * 3
        if score > best_score:
            best, best_score = href, score
        if stages >= 2 and sessions >= 2 and agreements:
            break
    return best


def register_preview(page: Page, base: str) -> bool:
    """The registration form after "Check the level": what the rules choose, and why."""
    page.goto(f"{base}/mediation/new/")
    if not page.locator("#register-form").count():
        return False
    page.fill("#id_title", "拖欠工资 Unpaid wages on the riverside building site")
    page.select_option("#id_type", "labour")
    page.fill(
        "#id_summary",
        "十八名工人反映施工方拖欠三个月工资。Eighteen workers say the builder has not paid "
        "them for three months.",
    )
    page.fill("#id_amount", "260000")
    page.fill("#id_people_involved", "18")
    # The deepest place offered (a community): the rules then say why it goes higher.
    places = [
        v
        for v in page.locator("#id_jurisdiction option").evaluate_all(
            "els => els.map(e => e.value)"
        )
        if v
    ]
    if places:
        page.select_option("#id_jurisdiction", max(places, key=lambda v: v.count("-")))
    page.fill("#id_p-0-name", "张建国")
    page.select_option("#id_p-1-side", "respondent")
    page.select_option("#id_p-1-kind", "organisation")
    page.fill("#id_p-1-name", "海港宏达建筑劳务有限公司")
    page.click("#check-level")
    page.wait_for_load_state("networkidle")
    return page.locator("#rules-choice").count() > 0


def civic_pages(browser: Browser, base: str, out: Path, wanted: set[str] | None) -> None:
    """Mediation as the street's mediator, the rules at registration, the figures; taking
    part as the public, a volunteer and the street's leader."""

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    if want("mediation-dispute"):

        def dispute(p: Page) -> None:
            link = rich_dispute(p, base)
            if link is None:
                print("mediation-dispute: skipped, mediator sees no dispute")
                return
            shoot(p, out, "mediation-dispute", base + link)

        as_user(browser, base, "mediator", "en", dispute)
    if want("mediation-register"):

        def register(p: Page) -> None:
            if not register_preview(p, base):
                print("mediation-register: skipped, the rules' choice did not show")
                return
            shoot(p, out, "mediation-register")

        as_user(browser, base, "mediator-community", "en", register)
    if want("mediation-figures-zh"):
        as_user(
            browser,
            base,
            "analyst",
            "zh-hans",
            lambda p: shoot(p, out, "mediation-figures-zh", f"{base}/mediation/figures/"),
        )
    if want("participate"):
        as_user(
            browser,
            base,
            None,
            "en",
            lambda p: shoot(p, out, "participate", f"{base}/participate/"),
        )
    if want("consultation-zh"):

        def consultation(p: Page) -> None:
            link = first_link(
                p, f"{base}/participate/consultations/?status=open", "table tbody td a"
            )
            if link is None:
                print("consultation-zh: skipped, the demo has no open consultation")
                return
            shoot(p, out, "consultation-zh", base + link)

        as_user(browser, base, None, "zh-hans", consultation)
    if want("participation-mine"):
        as_user(
            browser,
            base,
            "volunteer",
            "en",
            lambda p: shoot(p, out, "participation-mine", f"{base}/participate/me/"),
        )
    if want("suggestion"):

        def suggestion(p: Page) -> None:
            link = None
            for status in ("answered", "due"):
                link = first_link(
                    p, f"{base}/participate/suggestions/?status={status}", "#suggestions h2 a"
                )
                if link:
                    break
            if link is None:
                print("suggestion: skipped, no suggestion passed its threshold")
                return
            shoot(p, out, "suggestion", base + link)

        as_user(browser, base, None, "en", suggestion)
    if want("moderation"):
        as_user(
            browser,
            base,
            "leader",
            "en",
            lambda p: shoot(p, out, "moderation", f"{base}/participate/moderation/"),
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
        civic_pages(browser, args.base, args.out, wanted)
        browser.close()


if __name__ == "__main__":
    main()
