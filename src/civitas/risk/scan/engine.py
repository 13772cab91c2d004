"""Run detectors day by day, prospectively, and report each finding once.

Each day ``d`` every detector sees ``events.until(d)``: what was known at the end of that day,
never a later row. A cluster usually stays significant for several days while its window
slides; the engine reports it on the first day and keeps it quiet while it continues (same
kind and category, overlapping circle or same area, seen again within ``gap_days``). The live
system keeps the :class:`Engine` (or its ``active`` list) between daily runs; ``civitas risk
scan`` runs one over a whole period.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from civitas.risk.scan.events import Detector, Events, Found


@dataclass
class Active:
    """An alert already reported and still going on."""

    found: Found
    last_seen: int


@dataclass
class Engine:
    detectors: list[Detector]
    gap_days: int = 1  # a finding seen again within this many days continues the same alert
    active: list[Active] = field(default_factory=list)

    def step(self, events: Events, day: int) -> list[Found]:
        """Today's new findings (continuing ones are only remembered). ``events`` may hold
        later rows; the detectors are only shown ``events.until(day)``."""
        return self._merge(day, _detect(self.detectors, events, day))

    def _merge(self, day: int, findings: list[Found]) -> list[Found]:
        new: list[Found] = []
        for f in findings:
            prev = self._continues(f, day)
            if prev is not None:
                prev.last_seen = day
                continue
            self.active.append(Active(f, day))
            new.append(f)
        self.active = [a for a in self.active if a.last_seen >= day - self.gap_days]
        return new

    def _continues(self, f: Found, day: int) -> Active | None:
        for a in self.active:
            g = a.found
            if g.kind != f.kind or g.category != f.category:
                continue
            if a.last_seen < day - self.gap_days:
                continue
            if _overlap(g, f):
                return a
        return None

    def run(
        self,
        events: Events,
        first: int,
        last: int,
        progress: Callable[[int], None] | None = None,
        workers: int = 1,
    ) -> Iterator[Found]:
        """Every new alert of days ``first..last``, in order.

        With ``workers`` > 1 the days are detected in that many forked processes: each day's
        detection depends only on the rows known that day (and on a seed drawn from the
        day), so the days are independent; the merging of continuing alerts stays here, in
        day order, and the result is the same as with one worker."""
        days = list(range(first, last + 1))
        if workers <= 1 or len(days) < 2:
            for day in days:
                yield from self.step(events, day)
                if progress is not None:
                    progress(day)
            return
        import multiprocessing

        global _SHARED
        _SHARED = (self.detectors, events)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for day, findings in pool.imap(_detect_shared, days):
                    yield from self._merge(day, findings)
                    if progress is not None:
                        progress(day)
        finally:
            _SHARED = None


_SHARED: tuple[list[Detector], Events] | None = None  # what forked workers detect on


def _detect(detectors: list[Detector], events: Events, day: int) -> list[Found]:
    known = events.until(day)
    return [f for det in detectors for f in det.run(known, day)]


def _detect_shared(day: int) -> tuple[int, list[Found]]:
    assert _SHARED is not None
    detectors, events = _SHARED
    return day, _detect(detectors, events, day)


def _overlap(a: Found, b: Found) -> bool:
    if a.x is not None and a.y is not None and b.x is not None and b.y is not None:
        ra = a.radius_m or 0.0
        rb = b.radius_m or 0.0
        return math.hypot(a.x - b.x, a.y - b.y) <= ra + rb
    return a.area == b.area


def day_range(events: Events, start: date, end: date) -> tuple[int, int]:
    return events.day_of(start), events.day_of(end)


def default_detectors(
    *,
    replicas: int = 999,
    seed: int = 20150101,
    alpha: float | None = None,
    kinds: Iterable[str] = ("cluster", "burst", "surge"),
) -> list[Detector]:
    """The detectors ``civitas risk scan`` runs: the space-time cluster scan, and the burst
    and surge detectors when they are installed."""
    from civitas.risk.scan.stp import ClusterDetector, ScanConfig

    wanted = set(kinds)
    out: list[Detector] = []
    if "cluster" in wanted:
        cfg = ScanConfig(replicas=replicas, seed=seed)
        if alpha is not None:
            cfg.alpha = alpha
        out.append(ClusterDetector(cfg))
    for kind, module, cls in (
        ("burst", "civitas.risk.scan.bursts", "BurstDetector"),
        ("surge", "civitas.risk.scan.surges", "SurgeDetector"),
    ):
        if kind not in wanted:
            continue
        det = _optional(module, cls)
        if det is not None:
            out.append(det)
    return out


def _optional(module: str, cls: str) -> Detector | None:
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    factory = getattr(mod, cls, None)
    if factory is None:
        return None
    det: Detector = factory()
    return det
