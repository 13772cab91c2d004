"""The detectors on a city's live appeals: the database turned into ``scan.events.Events``, the
detectors run on it for one day, and what they find stored as alerts.

Columns (one row per appeal received in the last ``HISTORY_DAYS`` up to the end of the day):

- ``category``: the appeal's matter code. Appeals without a matter are left out of the stream
  the scan detectors see (they cannot say "the same problem"); the live detectors that follow
  people rather than problems (repeat appellants) get them with the category ``""``.
- ``x``/``y``: the appeal's own point through a ``Projection`` centred on the city (the centre
  of its boundary, else the median point). Appeals placed only by an address or by the text have
  no point: they are unlocated (a community's centroid would make a tidy false cluster).
- ``staff``: the channel is ``grid`` (grid and field workers; the Boston replay maps its
  "Employee Generated" and "City Worker App" sources there) or ``csv`` (a bulk import entered by
  staff, received in batches). Web, hotline (an operator writing down a resident's call), API
  and Open311 are residents' reports.
- ``reporter``: the resident's account id; without an account, a number drawn from the contact
  phone's blind index (``Contact.phone_digest``: an HMAC of its digits under the installation's
  index key, see ``civitas.kit.crypto``), in a range apart from account ids; -1 when neither is
  known. The phone itself is encrypted and never read here.
- ``area``: the district-level jurisdiction (the second code of the appeal's path).
- ``ids``: the appeal's primary key. ``extra``: ``place`` (the id of the appeal's community,
  or of its deepest jurisdiction above that level; -1),
  ``dup`` (the appeal it duplicates or probably duplicates, -1) and ``channel`` (an index into
  ``CHANNELS``), used by the group and repeat detectors of ``civitas.risk.live``; ``source``
  (the channel again) and ``address`` (a code per written address), used by the burst
  detector to tell staff batches from residents.

Shared datasets of the hub marked ``feeds_risk`` add their records to the stream of the scan
detectors (space-time clusters, bursts, surges; ``HUB_KINDS``) when ``CIVITAS_RISK_HUB_FEED``
is on: each record with a date and a point is one row of the category ``hub:<dataset code>``
(so a cluster of traffic accidents is an alert of its own, never mixed with appeals), at noon
local time of its date (records have dates, not times), not staff, with a reporter key of its
own (each record is a separate observation: the "one sitting" and "one reporter" rules do not
merge them), a negative id (never taken for an appeal), and its area. On day ``d`` only
records dated ``d`` or earlier are seen. The detectors that follow residents (group appeals,
repeat appellants) see appeals only.

The scan detectors (space-time clusters, bursts, surges) come from ``civitas.risk.scan`` and are
named by dotted path in ``CIVITAS_RISK_DETECTORS`` (imported on use); the live detectors come
from ``civitas.risk.live``. Every run is prospective: on day ``d`` a detector gets
``events.until(d)``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string

from civitas.appeals.models import Appeal, Channel
from civitas.geo.models import Jurisdiction
from civitas.kit import clock, crypto
from civitas.risk.models import HUB_CATEGORY_PREFIX
from civitas.risk.scan.events import Detector, Events, Found, Projection

log = logging.getLogger(__name__)

HISTORY_DAYS = 365
# Detector kinds that see the hub's records beside appeals (a detector may say otherwise with
# a ``hub_records`` attribute).
HUB_KINDS = frozenset({"cluster", "burst", "surge"})
# Each hub record is a reporter of its own, in a range apart from accounts and phone keys.
_RECORD_KEY_BASE = 1 << 61
STAFF_CHANNELS = frozenset({Channel.GRID.value, Channel.CSV.value})
CHANNELS: list[str] = list(Channel.values)
# Phone hashes live above every account id (bit 62 set), so the two never collide.
_PHONE_KEY_BASE = 1 << 62
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)

# Which detector runs in which job. Dotted paths of Detector classes built without arguments;
# a path that cannot be imported is logged and skipped (the others still run).
DEFAULT_DETECTORS: dict[str, list[str]] = {
    "daily": [
        "civitas.risk.scan.stp.ClusterDetector",
        "civitas.risk.scan.surges.SurgeDetector",
        "civitas.risk.live.GroupDetector",
        "civitas.risk.live.RepeatDetector",
    ],
    "recent": [
        "civitas.risk.scan.bursts.BurstDetector",
        "civitas.risk.live.GroupDetector",
    ],
}


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day_end(day: date) -> datetime:
    """The first instant after ``day`` (local), as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone())


def reporter_key(resident_id: int | None, phone: str | None) -> int:
    """Who reported, as a number: the account id, else one drawn from the phone's blind index."""
    if resident_id:
        return int(resident_id)
    return _phone_keys()(phone or "")


def _phone_keys() -> Any:
    """A memoised reporter key of a phone's blind index (``Contact.phone_digest``, an HMAC of
    its digits under the installation's index key) or of a phone, whose index is taken first."""
    memo: dict[str, int] = {}

    def key(value: str) -> int:
        found = memo.get(value)
        if found is None:
            index = value if _HEX64.fullmatch(value) else crypto.phone_digest(value)
            high = int(index[:16], 16) if index else -1
            found = -1 if high < 0 else _PHONE_KEY_BASE | (high & (_PHONE_KEY_BASE - 1))
            memo[value] = found
        return found

    return key


def district_of(path: str) -> str:
    """The district-level code of a jurisdiction path (``/CITY/DISTRICT/...``), or ""."""
    parts = [p for p in (path or "").split("/") if p]
    return parts[1] if len(parts) > 1 else ""


def city_projection(city: str) -> Projection:
    """Centred on the city's boundary, else on the median of its appeals' points."""
    root = Jurisdiction.objects.filter(code=city, parent__isnull=True).first()
    if root is not None and root.boundary:
        from shapely.geometry import shape

        c = shape(root.boundary).centroid
        return Projection(float(c.y), float(c.x))
    pts = Appeal.objects.filter(city=city, lat__isnull=False).values_list("lat", "lon")[:5000]
    arr = np.array(list(pts), dtype=np.float64)
    if len(arr):
        return Projection(float(np.median(arr[:, 0])), float(np.median(arr[:, 1])))
    return Projection(0.0, 0.0)


def _local_hours(stamps: np.ndarray, day0: date) -> np.ndarray:
    """Hours since local midnight of ``day0`` for UTC epoch seconds, with the offset of each
    UTC hour looked up once (exact across daylight-saving changes)."""
    if not len(stamps):
        return np.zeros(0, dtype=np.float64)
    z = zone()
    origin = datetime.combine(day0, time(), tzinfo=z).timestamp()
    first_hour = int(np.floor(stamps.min() / 3600.0))
    last_hour = int(np.floor(stamps.max() / 3600.0))
    offsets = np.array(
        [
            (
                datetime.fromtimestamp(h * 3600, tz=UTC).astimezone(z).utcoffset() or timedelta()
            ).total_seconds()
            for h in range(first_hour, last_hour + 1)
        ],
        dtype=np.float64,
    )
    hour_idx = (np.floor(stamps / 3600.0).astype(np.int64) - first_hour).clip(0, len(offsets) - 1)
    local = stamps + offsets[hour_idx]
    origin_local = (
        origin + (datetime.fromtimestamp(origin, tz=z).utcoffset() or timedelta()).total_seconds()
    )
    return (local - origin_local) / 3600.0


def city_events(
    city: str,
    *,
    until: datetime | None = None,
    days: int = HISTORY_DAYS,
    with_unclassified: bool = False,
    with_hub: bool = False,
    projection: Projection | None = None,
) -> Events:
    """The city's appeals received in the ``days`` local days up to ``until`` (default: now),
    and with ``with_hub`` the records of the hub's datasets that feed the detectors."""
    until = until or clock.now()
    last_day = until.astimezone(zone()).date()
    day0 = last_day - timedelta(days=days - 1)
    since = datetime.combine(day0, time(), tzinfo=zone())
    qs = Appeal.objects.filter(city=city, received_at__gte=since, received_at__lt=until)
    if not with_unclassified:
        qs = qs.filter(matter__isnull=False)
    rows = list(
        qs.order_by("received_at", "pk").values_list(
            "pk",
            "received_at",
            "matter__code",
            "lat",
            "lon",
            "channel",
            "resident_id",
            "contact__phone_digest",
            "jurisdiction_path",
            "jurisdiction_id",
            "duplicate_of_id",
            "duplicate_candidate_id",
            "address",
        )
    )
    if with_hub and getattr(settings, "CIVITAS_RISK_HUB_FEED", True):
        rows += hub_rows(city, first=day0, last=(until - timedelta(microseconds=1)))
        rows.sort(key=lambda r: (r[1], r[0]))
    rows = _at_community_level(rows)
    return build_events(rows, day0=day0, projection=projection or city_projection(city))


def hub_rows(city: str, *, first: date, last: datetime) -> list[tuple[Any, ...]]:
    """Records of the city's ``feeds_risk`` datasets dated ``first`` to ``last``'s local day,
    with a point, as rows shaped like the appeals' rows of ``city_events`` (see the module's
    docstring for what each column holds)."""
    from civitas.hub.models import BatchStatus, Record

    last_day = last.astimezone(zone()).date()
    records = (
        Record.objects.filter(
            dataset__city=city,
            dataset__feeds_risk=True,
            dataset__active=True,
            batch__status=BatchStatus.APPLIED,
            occurred_on__gte=first,
            occurred_on__lte=last_day,
            lat__isnull=False,
            lon__isnull=False,
        )
        .order_by("occurred_on", "pk")
        .values_list(
            "pk",
            "occurred_on",
            "dataset__code",
            "lat",
            "lon",
            "jurisdiction_path",
            "jurisdiction_id",
        )
    )
    z = zone()
    noon: dict[date, datetime] = {}
    out = []
    for pk, day, code, lat, lon, path, place in records.iterator(chunk_size=5000):
        assert day is not None  # filtered above
        at = noon.get(day)
        if at is None:
            at = noon[day] = datetime.combine(day, time(12), tzinfo=z)
        out.append(
            (
                -pk,
                at,
                f"{HUB_CATEGORY_PREFIX}{code}",
                lat,
                lon,
                "",
                _RECORD_KEY_BASE | pk,
                None,
                path or "",
                place,
                None,
                None,
                "",
            )
        )
    return out


def takes_hub_records(detector: Any) -> bool:
    """Whether ``detector`` looks at the hub's records beside appeals."""
    flag = getattr(detector, "hub_records", None)
    if flag is not None:
        return bool(flag)
    return (getattr(detector, "kind", "") or "") in HUB_KINDS


def _at_community_level(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with the jurisdiction id replaced by that of the community (the fourth level of the
    path: city, district, street, community) or the deepest level above it: appeals located in
    two grids of one community are at one place for the group detector."""
    codes = {path: _community_code(path) for path in {r[8] for r in rows}}
    ids = dict(
        Jurisdiction.objects.filter(code__in=set(codes.values()) - {""}).values_list("code", "id")
    )
    return [
        (*r[:9], ids.get(codes[r[8]], r[9]) if r[9] is not None else None, *r[10:]) for r in rows
    ]


def _community_code(path: str) -> str:
    parts = [p for p in (path or "").split("/") if p]
    return parts[min(3, len(parts) - 1)] if parts else ""


def build_events(rows: Sequence[tuple[Any, ...]], *, day0: date, projection: Projection) -> Events:
    """Events from rows of (pk, received_at, matter code or None, lat, lon, channel,
    resident id, phone digest (or phone), jurisdiction path, jurisdiction id, duplicate_of id,
    candidate id, address), sorted by time."""
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if n else [()] * 13
    ids = np.fromiter(cols[0], dtype=np.int64, count=n)
    stamps = np.fromiter((dt.timestamp() for dt in cols[1]), dtype=np.float64, count=n)
    t = _local_hours(stamps, day0)
    day = np.floor(t / 24.0).astype(np.int32)
    cat_names = [c or "" for c in cols[2]]
    categories = sorted(set(cat_names))
    cat_index = {c: i for i, c in enumerate(categories)}
    cat = np.fromiter((cat_index[c] for c in cat_names), dtype=np.int32, count=n)
    lat = np.array([np.nan if v is None else v for v in cols[3]], dtype=np.float64)
    lon = np.array([np.nan if v is None else v for v in cols[4]], dtype=np.float64)
    x, y = projection.to_xy(lat, lon)
    channel_index = {c: i for i, c in enumerate(CHANNELS)}
    channel = np.fromiter((channel_index.get(c, -1) for c in cols[5]), dtype=np.int16, count=n)
    staff = np.isin(channel, [channel_index[c] for c in STAFF_CHANNELS])
    phone_key = _phone_keys()
    reporter = np.fromiter(
        (int(r) if r else phone_key(p or "") for r, p in zip(cols[6], cols[7], strict=True)),
        dtype=np.int64,
        count=n,
    )
    districts = [district_of(p) for p in cols[8]]
    areas = sorted({d for d in districts if d})
    area_index = {a: i for i, a in enumerate(areas)}
    area = np.fromiter((area_index.get(d, -1) for d in districts), dtype=np.int32, count=n)
    place = np.fromiter((-1 if v is None else v for v in cols[9]), dtype=np.int64, count=n)
    dup = np.fromiter(
        (
            a if a is not None else (b if b is not None else -1)
            for a, b in zip(cols[10], cols[11], strict=True)
        ),
        dtype=np.int64,
        count=n,
    )
    return Events(
        day0=day0,
        t=t,
        day=day,
        cat=cat,
        categories=categories,
        x=x,
        y=y,
        projection=projection,
        staff=staff,
        reporter=reporter,
        ids=ids,
        area=area,
        areas=areas,
        extra={
            "place": place,
            "dup": dup,
            "channel": channel,
            "source": channel.astype(np.int64),
            "address": _address_codes(cols[12]),
        },
    )


def _address_codes(addresses: Sequence[str]) -> np.ndarray:
    """One code per distinct written address (spaces and punctuation ignored), -1 for none:
    the burst detector tells a staff batch at one address from residents around a place."""
    codes: dict[str, int] = {}
    out = np.full(len(addresses), -1, dtype=np.int64)
    for i, a in enumerate(addresses):
        norm = _NON_WORD.sub("", (a or "").lower())
        if norm:
            out[i] = codes.setdefault(norm, len(codes))
    return out


def load_detectors(job: str) -> list[Detector]:
    """The detectors of a job ("daily" or "recent") named in ``CIVITAS_RISK_DETECTORS``."""
    configured = getattr(settings, "CIVITAS_RISK_DETECTORS", None) or DEFAULT_DETECTORS
    out: list[Detector] = []
    for path in configured.get(job, []):
        try:
            out.append(import_string(path)())
        except ImportError:
            log.warning("risk detector %s is not available; skipped", path)
    return out


@dataclass
class Outcome:
    """What one run did: findings per detector kind, and the alerts stored."""

    city: str
    day: date
    found: dict[str, int] = field(default_factory=dict)
    alerts: list[int] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{k} {v}" for k, v in sorted(self.found.items())]
        fails = [f"{k} failed: {v}" for k, v in sorted(self.failed.items())]
        return f"{self.city} {self.day}: " + ", ".join(
            [*parts, f"alerts {len(self.alerts)}", *fails]
        )


def run(
    city: str,
    day: date,
    detectors: Iterable[Detector],
    *,
    events: Events | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Run ``detectors`` on the city's appeals as known at the end of ``day`` (or at ``now``
    when that is earlier: a run during the day sees the day so far), storing each finding.

    A detector that fails is logged and reported; the others still run."""
    from civitas.risk import alerts

    now = now or clock.now()
    until = min(local_day_end(day), now)
    outcome = Outcome(city, day)
    streams: dict[tuple[bool, bool], Events] = {}
    for det in detectors:
        want = (bool(getattr(det, "with_unclassified", False)), takes_hub_records(det))
        if events is not None:
            stream = events
        else:
            if want not in streams:
                twin = streams.get((want[0], True))
                if not want[1] and twin is not None:
                    # The same appeals without the hub's records (negative ids): no second query.
                    streams[want] = twin.take(twin.ids >= 0)
                else:
                    streams[want] = city_events(
                        city, until=until, with_unclassified=want[0], with_hub=want[1]
                    )
            stream = streams[want]
        d = stream.day_of(day)
        kind = getattr(det, "kind", "") or type(det).__name__
        try:
            found = det.run(stream.until(d), d)
        except Exception as exc:  # logged; the other detectors still run
            log.exception("risk detector %s failed for %s on %s", kind, city, day)
            outcome.failed[kind] = str(exc)[:200]
            continue
        outcome.found[kind] = outcome.found.get(kind, 0) + len(found)
        for f in found:
            alert = alerts.record(city, f, stream)
            if alert is not None and alert.pk not in outcome.alerts:
                outcome.alerts.append(alert.pk)
    return outcome


def found_rows_to_ids(found: Found, events: Events) -> list[int]:
    """The appeal ids behind a finding (real ones: planted rows have negative ids)."""
    rows = np.asarray(found.rows, dtype=np.int64)
    if not len(rows):
        return []
    ids = events.ids[rows]
    return [int(i) for i in ids if i > 0]
