"""How fast is the space-time cluster scan? Boston 2015, one daily scan and a 61-day replay.

    .venv/bin/python bench/risk_bench.py [--data ../shared/data] [--day 2015-10-28]
        [--replicas 999] [--skip-cli]

1. Reads the Boston file (time).
2. One daily scan on ``--day`` (a Wednesday) over everything known by then (10 months of
   background, all the file holds before it) with 999 replicas, every category: time, peak
   Python memory (tracemalloc) and the process's peak resident size; also the same scan
   with every replica forced (no sequential stopping), to show what stopping early saves.
3. ``civitas risk scan`` over 2015-08-01 .. 2015-09-30 (61 days) with all detectors, as a
   subprocess: wall time, peak resident size and the number of alerts by kind.

Prints the figures and one JSON line. The machine is shared, so the load average at the
start and end is printed too.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import date

import _common as c
import numpy as np


def _arg(argv: list[str], name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def main() -> None:
    argv = sys.argv[1:]
    data = c.data_dir()
    path = data / "boston" / "requests_2015_jan_oct.csv.gz"
    c.require(path)
    replicas = int(_arg(argv, "--replicas", "999"))
    day_text = _arg(argv, "--day", "2015-10-28")
    sys.path.insert(0, str(c.ROOT / "src"))
    from civitas.risk.scan.csvinput import read_events
    from civitas.risk.scan.stp import ClusterDetector, ScanConfig

    out: dict[str, object] = {"load_start": os.getloadavg()[0], "replicas": replicas}
    events, secs = c.timed(lambda: read_events(path, quiet=True))
    out["read_s"] = round(secs, 2)
    out["rows"] = len(events)
    print(f"read {len(events):,} rows in {secs:.2f} s")

    day = events.day_of(date.fromisoformat(day_text))
    known = events.until(day)
    det = ClusterDetector(ScanConfig(replicas=replicas))
    cpu0 = time.process_time()
    found, secs = c.timed(lambda: det.run(known, day))
    cpu = time.process_time() - cpu0
    # Memory is traced in a second run: tracemalloc slows NumPy-heavy code down.
    tracemalloc.start()
    ClusterDetector(ScanConfig(replicas=replicas)).run(known, day)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scans = det.last
    out["daily"] = {
        "day": day_text,
        "seconds": round(secs, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_traced_mb": round(peak / 2**20, 1),
        "categories_scanned": len(scans),
        "cases_in_study_period": int(sum(s.cases for s in scans)),
        "replicas_run": int(sum(s.replicas_run for s in scans)),
        "categories_full_replicas": int(sum(s.replicas_run >= replicas for s in scans)),
        "alerts": len(found),
    }
    print(
        f"daily scan {day_text}: {secs:.2f} s ({cpu:.2f} s CPU), {len(scans)} categories, "
        f"{out['daily']['replicas_run']:,} replicas run (of {len(scans) * replicas:,}), "
        f"peak traced memory {peak / 2**20:.1f} MB, {len(found)} alerts"
    )
    forced = ClusterDetector(ScanConfig(replicas=replicas, stop_after=10**9))
    cpu0 = time.process_time()
    _, secs = c.timed(lambda: forced.run(known, day))
    cpu = time.process_time() - cpu0
    out["daily_all_replicas_s"] = round(secs, 2)
    out["daily_all_replicas_cpu_s"] = round(cpu, 2)
    print(
        f"the same with all {replicas} replicas for every category: {secs:.2f} s ({cpu:.2f} s CPU)"
    )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["bench_peak_rss_mb"] = round(maxrss, 1)

    if "--skip-cli" not in argv:
        cmd = [
            str(c.ROOT / ".venv" / "bin" / "civitas"),
            "risk",
            "scan",
            "--input",
            str(path),
            "--from",
            "2015-08-01",
            "--to",
            "2015-09-30",
            "--quiet",
        ]
        env = dict(os.environ, CIVITAS_DEBUG="1")
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        wall = time.perf_counter() - started
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
        kinds: dict[str, int] = {}
        for x in lines:
            kinds[x["kind"]] = kinds.get(x["kind"], 0) + 1
        out["cli_61_days"] = {
            "command": " ".join(cmd[1:]),
            "wall_s": round(wall, 1),
            "cpu_s": round(child.ru_utime + child.ru_stime, 1),
            "peak_rss_mb": round(child.ru_maxrss / 1024, 1),
            "alerts": kinds,
        }
        print(
            f"civitas risk scan, 61 days: {wall:.1f} s wall, "
            f"{child.ru_utime + child.ru_stime:.1f} s CPU, peak RSS "
            f"{child.ru_maxrss / 1024:.0f} MB, alerts {kinds}"
        )
    out["load_end"] = os.getloadavg()[0]
    print(json.dumps(out, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else o))


if __name__ == "__main__":
    main()
