from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from civitas.kit import audit
from civitas.kit.models import AuditEntry, AuditHead


def _write(n: int) -> None:
    with transaction.atomic():
        for i in range(n):
            audit.record(
                actor="test",
                action="thing.update",
                object_type="test.thing",
                object_id=i,
                before={"v": i},
                after={"v": i + 1},
                reason=f"r{i}",
            )


def _verify_exit() -> tuple[int, str]:
    try:
        call_command("audit", "verify")
    except SystemExit as exc:
        return int(exc.code or 0), ""
    return 0, ""


@pytest.mark.django_db
class TestAuditChain:
    def test_intact_chain_verifies(self) -> None:
        _write(5)
        result = audit.verify()
        assert result.ok and result.checked == 5
        assert _verify_exit()[0] == 0

    def test_empty_chain_verifies(self) -> None:
        assert audit.verify().ok

    def test_altered_entry_is_caught(self) -> None:
        _write(5)
        AuditEntry.objects.filter(seq=3).update(reason="nothing to see")
        result = audit.verify()
        assert not result.ok and result.first_bad_seq == 3
        assert "altered" in result.problem
        assert _verify_exit()[0] == 1

    def test_altered_summary_is_caught(self) -> None:
        _write(3)
        AuditEntry.objects.filter(seq=2).update(summary={"after": {"v": 99}})
        assert audit.verify().first_bad_seq == 2

    def test_deleted_entry_is_caught(self) -> None:
        _write(5)
        AuditEntry.objects.filter(seq=2).delete()
        result = audit.verify()
        assert not result.ok and result.first_bad_seq == 2
        assert "missing" in result.problem

    def test_deleted_last_entry_is_caught(self) -> None:
        _write(4)
        AuditEntry.objects.filter(seq=4).delete()
        result = audit.verify()
        assert not result.ok and result.first_bad_seq == 4

    def test_inserted_entry_is_caught(self) -> None:
        _write(4)
        # Make room and forge an entry whose hash is computed correctly but without the key
        # holder's chain: renumber 3..4 to 4..5 and insert a new #3.
        for e in AuditEntry.objects.filter(seq__gte=3).order_by("-seq"):
            AuditEntry.objects.filter(pk=e.pk).update(seq=e.seq + 1)
        prev = AuditEntry.objects.get(seq=2)
        fields: dict[str, Any] = {
            "seq": 3,
            "at": prev.at,
            "actor": "intruder",
            "action": "thing.update",
            "object_type": "test.thing",
            "object_id": "x",
            "summary": {},
            "reason": "",
            "prev_hash": prev.entry_hash,
        }
        AuditEntry.objects.create(**fields, entry_hash=audit.compute_hash(**fields))
        AuditHead.objects.filter(id=1).update(last_seq=5)
        result = audit.verify()
        assert not result.ok and result.first_bad_seq == 4
        assert "link" in result.problem

    def test_forged_hash_without_key_is_caught(self) -> None:
        import hashlib

        _write(2)
        e = AuditEntry.objects.get(seq=2)
        AuditEntry.objects.filter(pk=e.pk).update(
            actor="forger", entry_hash=hashlib.sha256(b"forged").hexdigest()
        )
        assert audit.verify().first_bad_seq == 2


@pytest.mark.django_db(transaction=True)
def test_record_outside_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError, match="transaction"):
        audit.record(actor="x", action="a", object_type="t", object_id=1)
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_cli_exit_codes(tmp_path: Any) -> None:
    """The real console script, in a separate process, on a database file of its own."""
    env = {
        "CIVITAS_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite3",
        "PATH": "/usr/bin:/bin",
    }
    exe = [sys.executable, "-m", "civitas"]
    subprocess.run([*exe, "migrate", "-v", "0"], env=env, check=True, cwd=tmp_path)
    code = (
        "from django.db import transaction\nfrom civitas.kit import audit\n"
        "with transaction.atomic():\n"
        "    [audit.record(actor='t', action='a', object_type='t', object_id=i)"
        " for i in range(3)]\n"
    )
    subprocess.run([*exe, "shell", "-c", code], env=env, check=True, cwd=tmp_path)
    ok = subprocess.run(
        [*exe, "audit", "verify"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "3 entries verified" in ok.stdout
    subprocess.run(
        [
            *exe,
            "shell",
            "-c",
            "from civitas.kit.models import AuditEntry;"
            "AuditEntry.objects.filter(seq=2).update(action='b')",
        ],
        env=env,
        check=True,
        cwd=tmp_path,
    )
    bad = subprocess.run(
        [*exe, "audit", "verify"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "#2" in bad.stderr
