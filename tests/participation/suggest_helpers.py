"""Shared set-up of the suggestion and moderation tests (helper "suggest")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction

from civitas.kit import clock
from civitas.org.models import User
from civitas.participation import suggestions
from civitas.participation.models import Comment, Consultation, Suggestion
from tests.factories import UserFactory


def residents(n: int, prefix: str = "neighbour") -> list[User]:
    return [UserFactory(username=f"{prefix}{i}", phone=f"1390000{i:04d}") for i in range(n)]


def propose(author: User, place: Any, **extra: Any) -> Suggestion:
    fields = {"title": "More benches on the square", "text": "Elderly people need a rest."}
    fields |= extra
    return suggestions.propose(author, place=place, **fields)


def consultation(city: dict[str, Any], code: str = "T-CONS-1", where: str = "T-D1-S1") -> Any:
    with transaction.atomic():
        return Consultation.objects.create(
            code=code,
            city="T",
            title="Rebuilding the market street",
            body="The plan.",
            unit=city[f"{where}-office"],
            jurisdiction=city[where],
            jurisdiction_path=city[where].path,
            closes_at=clock.now() + timedelta(days=10),
            status=Consultation.Status.OPEN,
            created_by="test",
        )


def comment(cons: Consultation, author: User, text: str = "Keep the old trees.") -> Comment:
    return Comment.objects.create(consultation=cons, author=author, position="support", text=text)
