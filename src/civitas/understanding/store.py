"""Model files on disk, versions in the database.

``save`` writes a trained object with joblib to ``CIVITAS_MODEL_DIR/<city>/<kind>-v<N>.joblib``
(a temporary file renamed into place), records its SHA-256 and what it learned from, and
activates it. ``load`` returns the active version's object, verified against the checksum and
cached per process; it is only ever called when a prediction is needed, never at import time.
A missing, altered or unreadable file raises ``ModelUnavailable`` with what to do; callers fall
back to the rules. ``activate`` and ``rollback`` switch the active version on the record.

Model files are pickles: only files this store wrote (same checksum as recorded) are loaded.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, NotFound
from civitas.understanding.models import ModelVersion


class ModelUnavailable(Exception):
    """The active model cannot be loaded; the message says which file and what to do."""


def model_dir() -> Path:
    configured = getattr(settings, "CIVITAS_MODEL_DIR", None)
    return Path(configured) if configured else Path(settings.CIVITAS_VAR) / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(
    *,
    kind: str,
    city: str,
    obj: Any,
    summary: dict[str, Any],
    scores: dict[str, Any],
    by: Any,
    activate: bool | None = True,
    metric: str = "",
    note: str = "",
) -> ModelVersion:
    """Store a trained object as the next version. ``activate=None`` activates it unless it
    scores clearly worse on ``metric`` than the active version (by more than 0.02)."""
    import joblib

    folder = model_dir() / city
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{kind}-", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        joblib.dump(obj, tmp, compress=3)
        digest, size = _sha256(tmp), tmp.stat().st_size
        with transaction.atomic():
            # Serialise version numbers per kind and city.
            list(
                ModelVersion.objects.select_for_update()
                .filter(kind=kind, city=city)
                .values_list("pk", flat=True)
            )
            last = ModelVersion.objects.filter(kind=kind, city=city).aggregate(v=Max("version"))
            number = (last["v"] or 0) + 1
            # The checksum in the name: two trainings racing for the same number never write
            # over each other's file (the loser's row fails the unique constraint).
            target = folder / f"{kind}-v{number}-{digest[:12]}.joblib"
            os.replace(tmp, target)
            mv = ModelVersion.objects.create(
                kind=kind,
                city=city,
                version=number,
                file=str(target.relative_to(model_dir())),
                sha256=digest,
                size=size,
                summary=summary,
                scores=scores,
                created_at=clock.now(),
                created_by=audit.actor_label(by)[:120],
                note=note[:300],
            )
            audit.record(
                actor=by,
                action="model.train",
                object_type="understanding.modelversion",
                object_id=mv.label,
                after={"sha256": digest, "summary": _brief(summary), "scores": _brief(scores)},
            )
            if activate is None:
                activate = not _clearly_worse(kind, city, metric, scores.get(metric))
            if activate:
                _activate(mv, by)
        return mv
    finally:
        tmp.unlink(missing_ok=True)


def _clearly_worse(kind: str, city: str, metric: str, new: Any) -> bool:
    """Does the new score fall more than 0.02 below the active version's on ``metric``?"""
    current = active(kind, city)
    old = (current.scores or {}).get(metric) if current is not None and metric else None
    return old is not None and new is not None and new < old - 0.02


def _brief(d: dict[str, Any]) -> dict[str, Any]:
    """Top-level numbers only, for the audit entry."""
    return {k: v for k, v in d.items() if isinstance(v, int | float | str)}


def _activate(mv: ModelVersion, by: Any) -> None:
    previous = (
        ModelVersion.objects.select_for_update()
        .filter(kind=mv.kind, city=mv.city, active=True)
        .exclude(pk=mv.pk)
        .first()
    )
    if previous is not None:
        previous.active = False
        previous.save(update_fields=["active"])
    mv.active, mv.activated_at = True, clock.now()
    mv.save(update_fields=["active", "activated_at"])
    audit.record(
        actor=by,
        action="model.activate",
        object_type="understanding.modelversion",
        object_id=mv.label,
        before={"active": previous.label if previous else None},
        after={"active": mv.label},
    )


def activate(*, kind: str, city: str, version: int, by: Any) -> ModelVersion:
    with transaction.atomic():
        mv = ModelVersion.objects.select_for_update().filter(kind=kind, city=city, version=version)
        found = mv.first()
        if found is None:
            raise NotFound(
                _("no %(kind)s model version %(version)s for %(city)s")
                % {"kind": kind, "version": version, "city": city}
            )
        check(found)
        try:
            with transaction.atomic():
                _activate(found, by)
        except IntegrityError:
            raise Conflict(
                _("another version was activated at the same moment; look again and retry")
            ) from None
    return found


def rollback(*, kind: str, city: str, by: Any) -> ModelVersion:
    """Activate the newest version older than the active one."""
    with transaction.atomic():
        versions = list(
            ModelVersion.objects.select_for_update()
            .filter(kind=kind, city=city)
            .order_by("-version")
        )
        current = next((v for v in versions if v.active), None)
        target = next((v for v in versions if current and v.version < current.version), None)
        if target is None:
            raise Conflict(
                _("there is no earlier %(kind)s model for %(city)s to roll back to")
                % {"kind": kind, "city": city}
            )
        return activate(kind=kind, city=city, version=target.version, by=by)


def check(mv: ModelVersion) -> Path:
    """The version's file, present and unaltered; otherwise ``ModelUnavailable``."""
    path = model_dir() / mv.file
    retrain = _("retrain with `civitas model train --city %(city)s` or roll back") % {
        "city": mv.city
    }
    if not path.is_file():
        raise ModelUnavailable(
            _("model file %(path)s of %(label)s is missing; %(todo)s")
            % {"path": path, "label": mv.label, "todo": retrain}
        )
    if _sha256(path) != mv.sha256:
        raise ModelUnavailable(
            _("model file %(path)s of %(label)s does not match its checksum; %(todo)s")
            % {"path": path, "label": mv.label, "todo": retrain}
        )
    return path


_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[int, str, Any]] = {}


def active(kind: str, city: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(kind=kind, city=city, active=True).first()


def load(kind: str, city: str) -> tuple[ModelVersion, Any] | None:
    """The active model of a kind for a city, or None when none was trained."""
    mv = active(kind, city)
    if mv is None:
        return None
    with _lock:
        hit = _cache.get((kind, city))
        if hit is not None and hit[0] == mv.pk and hit[1] == mv.sha256:
            return mv, hit[2]
    import joblib

    path = check(mv)
    data = path.read_bytes()  # hashed and loaded from the same bytes
    if hashlib.sha256(data).hexdigest() != mv.sha256:
        raise ModelUnavailable(
            _("model file %(path)s of %(label)s changed while it was read; retry")
            % {"path": path, "label": mv.label}
        )
    try:
        obj = joblib.load(io.BytesIO(data))
    except Exception as exc:  # any unpickling failure means the same to the caller
        raise ModelUnavailable(
            _("model file %(path)s of %(label)s cannot be read (%(error)s); retrain or roll back")
            % {"path": path, "label": mv.label, "error": type(exc).__name__}
        ) from exc
    with _lock:
        _cache[(kind, city)] = (mv.pk, mv.sha256, obj)
    return mv, obj


def forget() -> None:
    """Drop cached models (tests, and after files were replaced by hand)."""
    with _lock:
        _cache.clear()
