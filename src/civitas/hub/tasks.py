"""Background work of the hub: loading large uploads, marking expired grants."""

from __future__ import annotations

from typing import Any

from django_tasks import task


def expire_grants() -> dict[str, Any]:
    from civitas.hub import grants

    return {"expired": grants.expire_due()}


def sweep_staged() -> dict[str, Any]:
    from civitas.hub import ingest

    return {"discarded": ingest.sweep_staged()}


@task()
def load_batch(batch_id: int) -> str:
    """Check and load a staged batch too large to load while the page waits (see
    civitas.hub.ingest.enqueue); the batch page follows its progress."""
    from civitas.hub import ingest
    from civitas.hub.models import Batch

    batch = Batch.objects.get(pk=batch_id)
    done = ingest.run(batch)
    return f"batch {done.number} of {done.dataset.code}: {done.status}"
