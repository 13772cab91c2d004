"""The detectors' common input and output, free of Django.

:class:`Events` holds a stream of appeals (or replayed requests) as NumPy columns sorted by
time, so that every detector is vectorised and the same code runs on the live database
(``civitas.risk.detectors`` builds the columns from appeals) and on a CSV file
(``civitas.risk.scan.csvinput``). :class:`Found` is one detector finding: the numbers that
made it fire and the rows behind it.

Days are whole local days counted from ``Events.day0``; a detector run "on day d" sees only
rows with ``day <= d`` (``Events.until``), which is what makes every run prospective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Projection:
    """Local equirectangular metres around a city's centre (good to a few metres over a city)."""

    lat0: float
    lon0: float

    def to_xy(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = math.pi / 180.0 * EARTH_RADIUS_M
        x = (np.asarray(lon, dtype=np.float64) - self.lon0) * k * math.cos(math.radians(self.lat0))
        y = (np.asarray(lat, dtype=np.float64) - self.lat0) * k
        return x, y

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        k = math.pi / 180.0 * EARTH_RADIUS_M
        return self.lat0 + y / k, self.lon0 + x / (k * math.cos(math.radians(self.lat0)))


@dataclass
class Events:
    """Rows sorted by ``t``. ``x``/``y`` are NaN for rows without a usable location."""

    day0: date  # the local date of day index 0
    t: np.ndarray  # float64 hours since local midnight of day0 (so day = floor(t / 24))
    day: np.ndarray  # int32 local day index
    cat: np.ndarray  # int32 index into ``categories``
    categories: list[str]
    x: np.ndarray  # float64 metres east of the projection's centre (NaN: unlocated)
    y: np.ndarray  # float64 metres north
    projection: Projection
    staff: np.ndarray  # bool: entered by staff or field workers (not a resident's report)
    reporter: np.ndarray  # int64 a key of who reported (-1: unknown)
    ids: np.ndarray  # int64 the row's id (appeal pk, or row number of a file)
    area: np.ndarray | None = None  # int32 index into ``areas`` (-1: none), e.g. district
    areas: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def located(self) -> np.ndarray:
        return ~np.isnan(self.x)

    def date_of(self, day: int) -> date:
        return self.day0 + timedelta(days=int(day))

    def day_of(self, d: date) -> int:
        return (d - self.day0).days

    def take(self, mask: np.ndarray) -> Events:
        """The rows where ``mask`` is true (same categories, areas and projection)."""
        return Events(
            day0=self.day0,
            t=self.t[mask],
            day=self.day[mask],
            cat=self.cat[mask],
            categories=self.categories,
            x=self.x[mask],
            y=self.y[mask],
            projection=self.projection,
            staff=self.staff[mask],
            reporter=self.reporter[mask],
            ids=self.ids[mask],
            area=None if self.area is None else self.area[mask],
            areas=self.areas,
            extra={k: v[mask] for k, v in self.extra.items() if isinstance(v, np.ndarray)},
        )

    def until(self, day: int) -> Events:
        """What was known at the end of ``day``: rows with ``day <= day`` (rows are sorted)."""
        n = int(np.searchsorted(self.day, day, side="right"))
        return self.take(np.arange(len(self)) < n)


@dataclass
class Found:
    """One detector finding, before it is stored or printed.

    ``kind`` is one of civitas.risk.models.AlertKind's values. ``start``/``end`` are day
    indexes. ``rows`` are indexes into the Events the detector was given; ``numbers`` says
    why it fired in plain figures (shown on the alert page).
    """

    kind: str
    category: str
    detected_on: int
    start: int
    end: int
    observed: int
    expected: float
    p_value: float | None
    score: float
    x: float | None = None
    y: float | None = None
    radius_m: float | None = None
    area: str | None = None
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    numbers: dict[str, Any] = field(default_factory=dict)

    def as_json(self, events: Events) -> dict[str, Any]:
        """The line ``civitas risk scan`` prints (lat/lon/radius_m null when not spatial)."""
        lat = lon = None
        if self.x is not None and self.y is not None:
            lat, lon = events.projection.to_latlon(self.x, self.y)
            lat, lon = round(lat, 5), round(lon, 5)
        return {
            "detected_on": events.date_of(self.detected_on).isoformat(),
            "kind": self.kind,
            "category": self.category,
            "lat": lat,
            "lon": lon,
            "radius_m": None if self.radius_m is None else round(float(self.radius_m), 1),
            "start": events.date_of(self.start).isoformat(),
            "end": events.date_of(self.end).isoformat(),
            "observed": int(self.observed),
            "expected": round(float(self.expected), 3),
            "p_value": None if self.p_value is None else float(f"{self.p_value:.4g}"),
        }


class Detector:
    """What the engine runs day by day. ``run`` gets the events known at the end of ``day``
    (``Events.until(day)``) and returns what it finds that day; it must not look further."""

    kind: str = ""

    def run(self, events: Events, day: int) -> list[Found]:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class Planted:
    """A synthetic cluster or burst put into real background by ``civitas risk evaluate``."""

    kind: str  # the AlertKind value a detector should report it as
    category: str
    x: float
    y: float
    radius_m: float
    start: int  # day index of its first row
    end: int  # day index of its last row
    size: int
    ids: np.ndarray  # ids given to its rows (negative, so they never clash with real rows)
