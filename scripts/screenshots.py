"""Photograph the running demo for the README.

    civitas demo &                      # or any server with the demo city
    .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]

Drives Debian's Chromium through Playwright; signs in as the demo dispatcher.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

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
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--user", default="dispatcher")
    parser.add_argument("--password", default="demo-dispatcher-2026")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(f"{args.base}/login/")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", args.password)
        page.click("form.card button[type=submit]")
        page.wait_for_load_state("networkidle")
        for name, path, language in PAGES:
            context.add_cookies([{"name": "civitas_language", "value": language, "url": args.base}])
            page.goto(args.base + path)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)  # let the map finish its first animation
            page.screenshot(path=str(args.out / f"{name}.png"))
            print(f"{name}: {args.out / f'{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main()
