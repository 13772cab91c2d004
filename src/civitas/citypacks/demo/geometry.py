"""Boundaries that nest exactly: regions are sets of cells of one jittered hexagonal lattice.

Every jurisdiction of every level is a set of hexagons, and a parent's set is the union of its
children's, so children tile their parent with no gap and no overlap by construction. A
region's outline is the chain of cell edges not shared by two of its cells; vertices are
named by integer lattice keys and jittered once, so neighbours share identical coordinates.

Pointy-top hexagons in axial coordinates (q, r). A vertex key (X, Y) sits at
x = X * size * sqrt(3) / 2, y = Y * size / 2 (kilometres east and north of the origin).
Around a vertex meet exactly three cells, so an outline never touches itself: every ring is
simple and rings of one region are disjoint (a valid polygon, possibly with holes).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

Cell = tuple[int, int]
Vertex = tuple[int, int]
Ring = list[tuple[float, float]]

SQRT3 = math.sqrt(3.0)
# Corner offsets of a pointy-top hexagon, counter-clockwise from the east-north-east corner.
CORNERS: tuple[Vertex, ...] = ((1, 1), (0, 2), (-1, 1), (-1, -1), (0, -2), (1, -1))
NEIGHBOURS: tuple[Cell, ...] = ((1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1))
KM_PER_DEGREE_LAT = 110.574


def _unit_noise(*parts: object) -> tuple[float, float]:
    """Two numbers in [-1, 1) that depend only on ``parts`` (stable across runs)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    a = int.from_bytes(digest[:4], "big") / 2**32
    b = int.from_bytes(digest[4:], "big") / 2**32
    return 2 * a - 1, 2 * b - 1


@dataclass(frozen=True)
class HexLattice:
    """A hexagonal lattice placed on the earth around (origin_lon, origin_lat)."""

    size_km: float
    origin_lon: float
    origin_lat: float
    jitter: float = 0.2  # share of size_km a vertex may move along each axis
    seed: str = "demo"

    def centre(self, cell: Cell) -> tuple[float, float]:
        q, r = cell
        return self.size_km * SQRT3 * (q + r / 2), self.size_km * 1.5 * r

    def corners(self, cell: Cell) -> list[Vertex]:
        q, r = cell
        return [(2 * q + r + dx, 3 * r + dy) for dx, dy in CORNERS]

    @staticmethod
    def neighbours(cell: Cell) -> list[Cell]:
        q, r = cell
        return [(q + dq, r + dr) for dq, dr in NEIGHBOURS]

    def cells_within(self, inside: object, radius_km: float) -> set[Cell]:
        """Cells whose centre satisfies ``inside(x_km, y_km)`` within a square of radius_km."""
        assert callable(inside)
        reach = int(radius_km / (self.size_km * 1.5)) + 2
        cells: set[Cell] = set()
        for r in range(-reach, reach + 1):
            for q in range(-reach - abs(r), reach + abs(r) + 1):
                x, y = self.centre((q, r))
                if abs(x) <= radius_km and abs(y) <= radius_km and inside(x, y):
                    cells.add((q, r))
        return cells

    def km(self, vertex: Vertex) -> tuple[float, float]:
        jx, jy = _unit_noise(self.seed, "vertex", *vertex)
        x = vertex[0] * self.size_km * SQRT3 / 2 + jx * self.jitter * self.size_km
        y = vertex[1] * self.size_km / 2 + jy * self.jitter * self.size_km
        return x, y

    def lonlat(self, vertex: Vertex) -> tuple[float, float]:
        x, y = self.km(vertex)
        per_lon = KM_PER_DEGREE_LAT * math.cos(math.radians(self.origin_lat))
        return round(self.origin_lon + x / per_lon, 6), round(
            self.origin_lat + y / KM_PER_DEGREE_LAT, 6
        )

    # -- outlines ----------------------------------------------------------------------------
    def rings(self, cells: Iterable[Cell]) -> list[list[Vertex]]:
        """The outline of a region: its outer ring (counter-clockwise) first, then holes."""
        directed: set[tuple[Vertex, Vertex]] = set()
        for cell in cells:
            cs = self.corners(cell)
            directed.update((cs[i], cs[(i + 1) % 6]) for i in range(6))
        following = {a: b for a, b in directed if (b, a) not in directed}
        rings: list[list[Vertex]] = []
        while following:
            start = min(following)
            ring = [start]
            nxt = following.pop(start)
            while nxt != start:
                ring.append(nxt)
                nxt = following.pop(nxt)
            ring.append(start)
            rings.append(ring)
        outer = [r for r in rings if _signed_area(r) > 0]
        if len(outer) != 1:
            raise ValueError(f"a region must be one connected piece, got {len(outer)}")
        holes = [r for r in rings if _signed_area(r) < 0]
        return outer + holes

    def polygon(self, cells: Iterable[Cell]) -> dict[str, object]:
        """A GeoJSON Polygon (RFC 7946 winding: outer ring counter-clockwise)."""
        coordinates = [[list(self.lonlat(v)) for v in ring] for ring in self.rings(cells)]
        return {"type": "Polygon", "coordinates": coordinates}


def _signed_area(ring: list[Vertex]) -> float:
    # Vertex keys are an affine image of the plane with positive orientation.
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring)) / 2


# -- partitions ------------------------------------------------------------------------------


def connected(cells: set[Cell]) -> bool:
    if not cells:
        return False
    start = min(cells)
    seen, todo = {start}, [start]
    while todo:
        for n in HexLattice.neighbours(todo.pop()):
            if n in cells and n not in seen:
                seen.add(n)
                todo.append(n)
    return len(seen) == len(cells)


def fill_holes(cells: set[Cell]) -> set[Cell]:
    """Add the cells that ``cells`` encloses (so an outline has no holes)."""
    qs = [q for q, _ in cells]
    rs = [r for _, r in cells]
    lo_q, hi_q, lo_r, hi_r = min(qs) - 1, max(qs) + 1, min(rs) - 1, max(rs) + 1
    start = (lo_q, lo_r)
    outside, todo = {start}, [start]
    while todo:
        for n in HexLattice.neighbours(todo.pop()):
            if (
                lo_q <= n[0] <= hi_q
                and lo_r <= n[1] <= hi_r
                and n not in cells
                and n not in outside
            ):
                outside.add(n)
                todo.append(n)
    return {
        (q, r)
        for q in range(lo_q, hi_q + 1)
        for r in range(lo_r, hi_r + 1)
        if (q, r) not in outside
    }


def largest_component(cells: set[Cell]) -> set[Cell]:
    remaining, best = set(cells), set[Cell]()
    while remaining:
        start = min(remaining)
        part, todo = {start}, [start]
        while todo:
            for n in HexLattice.neighbours(todo.pop()):
                if n in remaining and n not in part:
                    part.add(n)
                    todo.append(n)
        remaining -= part
        if len(part) > len(best):
            best = part
    return best


def partition(
    lattice: HexLattice, cells: set[Cell], k: int, *, label: str, roughness: float = 0.35
) -> list[set[Cell]]:
    """Split a connected region into ``k`` connected parts of similar size.

    Seeds come from a few rounds of k-means over cell centres (started deterministically
    from ``label``); each cell then joins the seed nearest along the cell graph, where each
    edge's length is perturbed by up to ``roughness`` so that borders wander. Shortest-path
    regions are connected, since every cell's predecessor on its path lies in its region.
    """
    ordered = sorted(cells)
    if k < 1 or k > len(ordered):
        raise ValueError(f"cannot split {len(ordered)} cells into {k} parts")
    if k == 1:
        return [set(ordered)]
    rng = random.Random(f"partition:{lattice.seed}:{label}")
    centre = {c: lattice.centre(c) for c in ordered}
    means = [centre[c] for c in rng.sample(ordered, k)]
    for _ in range(12):
        groups: list[list[tuple[float, float]]] = [[] for _ in range(k)]
        for c in ordered:
            x, y = centre[c]
            i = min(range(k), key=lambda j: (x - means[j][0]) ** 2 + (y - means[j][1]) ** 2)
            groups[i].append((x, y))
        means = [
            (sum(p[0] for p in g) / len(g), sum(p[1] for p in g) / len(g)) if g else means[i]
            for i, g in enumerate(groups)
        ]
    seeds: list[Cell] = []
    for mx, my in means:
        seed = min(
            (c for c in ordered if c not in seeds),
            key=lambda c: ((centre[c][0] - mx) ** 2 + (centre[c][1] - my) ** 2, c),
        )
        seeds.append(seed)
    # A smooth field of travel cost (a few waves across the region) bends the borders;
    # the per-edge wobble roughens them.
    wavelength = math.sqrt(len(ordered)) * lattice.size_km * 1.2
    waves = [
        (rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi))
        for _ in range(3)
    ]

    def terrain(c: Cell) -> float:
        x, y = centre[c]
        total = 0.0
        for angle, phase, _ in waves:
            u = (x * math.cos(angle) + y * math.sin(angle)) / wavelength
            total += math.sin(2 * math.pi * u + phase)
        return 1.0 + 0.4 * total / len(waves)

    cost = {c: terrain(c) for c in ordered}
    owner: dict[Cell, int] = {}
    heap: list[tuple[float, Cell, int]] = [(0.0, s, i) for i, s in enumerate(seeds)]
    heapq.heapify(heap)
    while heap:
        dist, cell, i = heapq.heappop(heap)
        if cell in owner:
            continue
        owner[cell] = i
        for n in lattice.neighbours(cell):
            if n in cells and n not in owner:
                edge = (min(cell, n), max(cell, n))
                wobble = _unit_noise(lattice.seed, label, "edge", *edge)[0]
                step = (cost[cell] + cost[n]) / 2 + roughness * wobble
                heapq.heappush(heap, (dist + step, n, i))
    parts: list[set[Cell]] = [set() for _ in range(k)]
    for cell, i in owner.items():
        parts[i].add(cell)
    return parts


def centroid_km(lattice: HexLattice, cells: Iterable[Cell]) -> tuple[float, float]:
    points = [lattice.centre(c) for c in cells]
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def reading_order(lattice: HexLattice, parts: list[set[Cell]]) -> list[set[Cell]]:
    """Parts ordered north to south in bands, then west to east (stable numbering)."""

    def key(part: set[Cell]) -> tuple[float, float]:
        x, y = centroid_km(lattice, part)
        return (-round(y / (lattice.size_km * 6)), x)

    return sorted(parts, key=key)
