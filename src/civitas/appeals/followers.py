"""Keeping residents informed: each public move of a case queues a message to its appellant
and to the appellants of the appeals linked to it as duplicates."""

from __future__ import annotations

from civitas.appeals.models import Appeal, Contact
from civitas.kit import outbox

SUBJECTS = {
    "received": "We received your appeal / 您的诉求已受理",
    "dispatch": "Your appeal was sent to the responsible unit / 您的诉求已派发承办单位",
    "accept": "The unit is handling your appeal / 承办单位已签收",
    "request_info": "We need more information / 需要您补充信息",
    "reply": "A reply to your appeal / 您的诉求有新回复",
    "resolve": "Your appeal was resolved: please rate it / 您的诉求已办结，请评价",
    "rate_reopen": "Your appeal is being handled again / 您的诉求已重新办理",
    "reopen": "Your appeal is being handled again / 您的诉求已重新办理",
    "rate_closed": "Thank you for your rating / 感谢您的评价",
    "close_review": "Your appeal was reviewed / 您的诉求已复核",
    "mark_duplicate": "Your appeal joined an existing case / 您的诉求已并入已有案件",
}


def _recipients(appeal: Appeal) -> list[tuple[str, str, str]]:
    contacts = Contact.objects.filter(
        appeal__in=[appeal.pk, *appeal.duplicates.values_list("pk", flat=True)],
        wants_notifications=True,
    ).select_related("appeal")
    out = []
    for c in contacts:
        if c.phone:
            out.append(("sms", c.phone, c.appeal.ticket))
        if c.email:
            out.append(("email", c.email, c.appeal.ticket))
    return out


def case_moved(appeal: Appeal, *, action: str, public: bool, note: str) -> None:
    if not public or action not in SUBJECTS:
        return
    subject = SUBJECTS[action]
    for channel, recipient, ticket in _recipients(appeal):
        body = f"{ticket}: {subject}."
        if note and action in ("reply", "resolve", "request_info"):
            body += f"\n{note[:500]}"
        body += "\nFollow it with your tracking link. / 请凭查询码查看进度。"
        outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=f"{ticket} {subject}",
            body=body,
            topic=f"appeal:{appeal.pk}",
            dedupe_key=f"{appeal.pk}:{appeal.version}:{channel}:{recipient}",
        )
