"""How long do `civitas city build` and `civitas city import` take, for Boston and Changsha?

    .venv/bin/python bench/import_bench.py [--data ../shared/data]

Runs the real commands in subprocesses, each city into its own fresh SQLite database in a
temporary folder: build the pack, import it, import it again (nothing should change). The
times include starting Python and Django, measured apart as `civitas check`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import _common as c

CLI = str(Path(sys.executable).with_name("civitas"))


def run(args: list[str], env: dict[str, str]) -> tuple[str, float]:
    def call() -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, check=False)

    done, seconds = c.timed(call)
    if done.returncode != 0:
        sys.exit(f"civitas {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr, seconds


def main() -> None:
    data = c.data_dir()
    results: dict[str, Any] = {}
    with c.temp_dir() as tmp:
        for city in ("boston", "changsha"):
            c.require(data / city)
            env = {
                **os.environ,
                "CIVITAS_DEBUG": "1",
                "DATABASE_URL": f"sqlite:///{tmp / city}.sqlite3",
            }
            run(["migrate", "-v", "0"], env)
            _, startup = run(["check"], env)
            pack = tmp / f"{city}-pack"
            _, build = run(
                ["city", "build", city, "--data", str(data / city), "--out", str(pack)], env
            )
            first, imported = run(["city", "import", str(pack)], env)
            again, reimported = run(["city", "import", str(pack)], env)
            unchanged_line = next(
                (line for line in again.splitlines() if line.startswith("unchanged:")), ""
            )
            changed = [
                line
                for line in again.splitlines()
                if re.match(r"(created|updated): (?!nothing)", line)
            ]
            results[city] = {
                "startup_s": round(startup, 2),
                "build_s": round(build, 2),
                "import_s": round(imported, 2),
                "reimport_s": round(reimported, 2),
                "reimport_changed": changed,
                "reimport": unchanged_line,
                "created": next((ln for ln in first.splitlines() if ln.startswith("created:")), ""),
            }
            r = results[city]
            print(
                f"{city}: build {r['build_s']} s, import {r['import_s']} s, "
                f"re-import {r['reimport_s']} s (Python+Django start-up {r['startup_s']} s)"
            )
            print(f"  {r['created']}")
            print(f"  re-import: {r['reimport']}; changed: {changed or 'nothing'}")
    c.emit("import", results)


if __name__ == "__main__":
    main()
