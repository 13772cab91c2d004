"""Scheduled retraining, once a day: the classifier of every city whose confirmed appeals or
corrections changed, the router of every city with cases finished since it was trained."""

from __future__ import annotations

import logging

from django.conf import settings
from django_tasks import task

from civitas.appeals.models import Appeal, Event
from civitas.matters.models import Matter
from civitas.understanding import classifier, routing, store

log = logging.getLogger(__name__)


def due(city: str) -> bool:
    """Enough confirmed appeals, and more of them (or more corrections) than the active
    model learned from."""
    confirmed = classifier.confirmed(city).count()
    if confirmed < int(getattr(settings, "CIVITAS_RETRAIN_MIN_CONFIRMED", 30)):
        return False
    current = store.active(classifier.KIND, city)
    if current is None:
        return True
    corrections = Event.objects.filter(appeal__city=city, action="reclassify").count()
    learned = current.summary or {}
    return confirmed != learned.get("n_train") or corrections != learned.get("corrections")


def router_due(city: str) -> bool:
    finished = Appeal.objects.filter(city=city, status__in=routing.FINISHED)
    if finished.count() < int(getattr(settings, "CIVITAS_RETRAIN_MIN_CONFIRMED", 30)):
        return False
    current = store.active(routing.KIND, city)
    return current is None or finished.filter(updated_at__gt=current.created_at).exists()


def retrain() -> dict[str, str]:
    """Retrain what is due in each city; a failure in one city or model spares the rest."""
    done: dict[str, str] = {}
    for city in Matter.objects.values_list("catalogue", flat=True).distinct().order_by():
        for kind, is_due, train in (
            (classifier.KIND, due, classifier.train),
            (routing.KIND, router_due, routing.train),
        ):
            if not is_due(city):
                continue
            try:
                mv = train(city=city, by="system:retrain")
            except Exception as exc:  # logged; the other cities and models still train
                log.exception("retraining the %s of %s failed", kind, city)
                done[f"{city}/{kind}"] = f"failed: {exc}"
                continue
            done[f"{city}/{kind}"] = mv.label + ("" if mv.active else " (kept: scored lower)")
    return done


@task()
def train_now(city: str, kind: str, by: str) -> str:
    """Train one model on request (the models page queues this)."""
    from django.utils.module_loading import import_string

    from civitas.understanding.management.commands.model import TRAINERS

    mv = import_string(TRAINERS[kind])(city=city, by=by)
    return mv.label
