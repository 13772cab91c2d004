"""Retention steps of the layers above appeals, run inside each batch of
:mod:`civitas.appeals.retention` (registered in ``ParticipationConfig.ready``).

When a closed appeal is anonymised:

* tasks published from it (``Task.appeal``) have their title, description and place scrubbed
  with the appellant's names mapped to the same labels;
* what an Open311 client sent beside it (``open311.RequestDetail``: device and account ids,
  the media URL, the answers to the service's questions) is blanked or scrubbed, and a
  deferred request's payload is emptied. Open311 sits below this layer and has no step of
  its own; this is where the two meet.

Suggestions, comments and consultation documents are not tied to appeals or disputes: they
are public text already scrubbed and shown under pseudonyms (:mod:`participation.public`).
"""

from __future__ import annotations

from typing import Any

from civitas.appeals import retention as appeal_retention
from civitas.kit.redact import anonymise, anonymise_data
from civitas.open311.models import PendingRequest, RequestDetail
from civitas.participation.models import Task


def scrub_for_appeals(appeals: list[Any], labels: dict[int, dict[str, str]]) -> dict[str, int]:
    ids = [a.pk for a in appeals]
    tasks = list(Task.objects.filter(appeal_id__in=ids))
    for t in tasks:
        names = labels.get(t.appeal_id or 0, {})
        t.title = anonymise(t.title, names)
        t.description = anonymise(t.description, names)
        t.place = anonymise(t.place, names)
    Task.objects.bulk_update(tasks, ["title", "description", "place"])
    details = list(RequestDetail.objects.filter(appeal_id__in=ids))
    for d in details:
        d.attributes = anonymise_data(d.attributes, labels.get(d.appeal_id, {}))
        d.device_id = d.account_id = d.media_url = d.address_id = ""
    RequestDetail.objects.bulk_update(
        details, ["attributes", "device_id", "account_id", "media_url", "address_id"]
    )
    PendingRequest.objects.filter(appeal_id__in=ids).exclude(payload={}).update(payload={})
    return {"tasks": len(tasks), "open311_details": len(details)}


def register() -> None:
    appeal_retention.register_step("participation", scrub_for_appeals)
