"""Covering indexes of open work, on PostgreSQL only (docs/PERFORMANCE.md, "Ten million
appeals"): the queues' counts and the command centre's overdue table read only the index
(an index-only scan over the few per cent of open cases) instead of visiting one heap page per
open case. SQLite has no INCLUDE columns; there the indexes of 0006 serve."""

from django.db import migrations

OPEN = "('accepted','dispatched','received','returned','review','suspended','triage','waiting_resident')"
CREATE = [
    "CREATE INDEX IF NOT EXISTS appeal_open_cover ON appeals_appeal (resolve_due) "
    "INCLUDE (id, received_at, lead_unit_id, city, jurisdiction_path, resident_id) "
    f"WHERE status IN {OPEN}",
    "CREATE INDEX IF NOT EXISTS appeal_open_unit_cover ON appeals_appeal "
    "(lead_unit_id, resolve_due) INCLUDE (id, received_at, city, jurisdiction_path, "
    f"resident_id) WHERE status IN {OPEN}",
]
DROP = [
    "DROP INDEX IF EXISTS appeal_open_cover",
    "DROP INDEX IF EXISTS appeal_open_unit_cover",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("appeals", "0006_open_work_indexes"),
    ]

    operations = [
        migrations.RunPython(_run(CREATE), _run(DROP), elidable=False),
    ]
