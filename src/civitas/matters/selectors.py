from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from civitas.matters.models import Matter


def matters(
    *, catalogue: str = "", leaves_only: bool = False, search: str = "", within: str = ""
) -> QuerySet[Matter]:
    qs = (
        Matter.objects.filter(active=True)
        .select_related("parent")
        .annotate(leaf=~Exists(Matter.objects.filter(parent=OuterRef("pk"))))
    )
    if catalogue:
        qs = qs.filter(catalogue=catalogue)
    if leaves_only:
        qs = qs.filter(leaf=True)
    if within:
        root = Matter.objects.filter(code=within).first()
        qs = qs.filter(path__startswith=root.path) if root else qs.none()
    if search:
        qs = qs.filter(
            Q(name_en__icontains=search) | Q(name_zh__icontains=search) | Q(code__icontains=search)
        )
    return qs.order_by("path")


def get_matter(code: str) -> Matter | None:
    return Matter.objects.select_related("parent").filter(code=code).first()
