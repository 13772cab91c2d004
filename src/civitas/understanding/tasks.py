"""Scheduled retraining: once a day, for every city whose confirmed appeals changed."""

from __future__ import annotations

import logging

from django.conf import settings
from django_tasks import task

from civitas.appeals.models import Appeal, Event
from civitas.matters.models import Matter
from civitas.understanding import classifier, store

log = logging.getLogger(__name__)


def due(city: str) -> bool:
    """Enough confirmed appeals, and more of them (or more corrections) than the active
    model learned from."""
    confirmed = Appeal.objects.filter(classifier.confirmed_q(), city=city).count()
    if confirmed < int(getattr(settings, "CIVITAS_RETRAIN_MIN_CONFIRMED", 30)):
        return False
    current = store.active(classifier.KIND, city)
    if current is None:
        return True
    corrections = Event.objects.filter(appeal__city=city, action="reclassify").count()
    learned = current.summary or {}
    return confirmed != learned.get("n_train") or corrections != learned.get("corrections")


def retrain() -> dict[str, str]:
    """Retrain the classifier of each city that is due; a failure in one city spares the rest."""
    done: dict[str, str] = {}
    for city in Matter.objects.values_list("catalogue", flat=True).distinct().order_by():
        if not due(city):
            continue
        try:
            mv = classifier.train(city=city, by="system:retrain")
        except Exception as exc:  # a city's failure is logged, the others still train
            log.exception("retraining the classifier of %s failed", city)
            done[city] = f"failed: {exc}"
            continue
        done[city] = mv.label + ("" if mv.active else " (kept inactive: scored lower)")
    return done


@task()
def train_now(city: str, kind: str, by: str) -> str:
    """Train one model on request (the models page queues this)."""
    from django.utils.module_loading import import_string

    from civitas.understanding.management.commands.model import TRAINERS

    mv = import_string(TRAINERS[kind])(city=city, by=by)
    return mv.label
