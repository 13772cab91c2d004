"""What encryption at rest costs: per value, per intake, and for a key rotation.

    .venv/bin/python bench/crypto_bench.py [--values 20000] [--appeals 2000]

1. encrypt, decrypt (first key; and the second of two keys, as during a rotation) and blind
   index digest of one value, for a phone, a name and an address: microseconds per value, wall
   and CPU time of this process;
2. intake (``appeals.intake.submit`` with a contact: name, phone, e-mail) of ``--appeals``
   appeals on a fresh SQLite database of the test city: milliseconds per appeal, and the part of
   it spent in ``crypto.encrypt``/``crypto.digest`` (measured inside the same run);
3. ``civitas keys rotate`` over the intake's contacts after a new key is put first: rows per
   second, then the second run (nothing left to do).

Prints one JSON line. The machine may be shared: compare CPU time, not only wall time.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import emit, fresh_django, temp_dir


def per_value(n: int) -> dict[str, Any]:
    from django.test import override_settings

    from civitas.kit import crypto

    samples = {
        "phone": "13812345678",
        "name": "欧阳 Li Lei-Wang",
        "address": "芙蓉区五一大道 388 号 3 栋 2 单元 501 室 (Building 3, Unit 2, Room 501)",
    }
    out: dict[str, Any] = {}
    for label, value in samples.items():
        wall0, cpu0 = time.perf_counter(), time.process_time()
        tokens = [crypto.encrypt(value) for _ in range(n)]
        wall1, cpu1 = time.perf_counter(), time.process_time()
        for t in tokens:
            crypto.decrypt(t)
        wall2, cpu2 = time.perf_counter(), time.process_time()
        for _ in range(n):
            crypto.digest(value, "phone" if label == "phone" else "text")
        wall3, cpu3 = time.perf_counter(), time.process_time()
        with override_settings(CIVITAS_ENCRYPTION_KEYS=(crypto.new_key(), *crypto.keyring().keys)):
            for t in tokens:
                crypto.decrypt(t)  # the second key opens it: the first is tried in vain
        wall4, cpu4 = time.perf_counter(), time.process_time()
        out[label] = {
            "plain_chars": len(value),
            "token_chars": len(tokens[0]),
            "encrypt_us": round((wall1 - wall0) / n * 1e6, 1),
            "encrypt_cpu_us": round((cpu1 - cpu0) / n * 1e6, 1),
            "decrypt_us": round((wall2 - wall1) / n * 1e6, 1),
            "decrypt_cpu_us": round((cpu2 - cpu1) / n * 1e6, 1),
            "digest_us": round((wall3 - wall2) / n * 1e6, 1),
            "decrypt_second_key_us": round((wall4 - wall3) / n * 1e6, 1),
            "decrypt_second_key_cpu_us": round((cpu4 - cpu3) / n * 1e6, 1),
        }
    return out


def intake(n: int) -> dict[str, Any]:
    from django.db import transaction

    from civitas.appeals import intake as appeals_intake
    from civitas.kit import clock, crypto
    from tests import factories

    factories.small_city()
    spent = {"encrypt": 0.0, "digest": 0.0, "calls": 0}
    real_encrypt, real_digest = crypto.encrypt, crypto.digest

    def encrypt(value: Any) -> str:
        t = time.perf_counter()
        try:
            return real_encrypt(value)
        finally:
            spent["encrypt"] += time.perf_counter() - t
            spent["calls"] += 1

    def digest(value: Any, kind: str = "phone") -> str:
        t = time.perf_counter()
        try:
            return real_digest(value, kind)
        finally:
            spent["digest"] += time.perf_counter() - t

    crypto.encrypt, crypto.digest = encrypt, digest  # type: ignore[assignment]
    try:
        start = clock.now() - timedelta(days=1)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(n):
            data = appeals_intake.AppealIn(
                city="T",
                text=f"The lift in building {i % 40} is broken again",
                channel="web",
                matter_code="T-M1-1-1",
                lat=0.5,
                lon=0.5,
                contact=appeals_intake.ContactIn(
                    name="Li Lei", phone=f"138{i:08d}", email=f"r{i}@example.com"
                ),
                received_at=start + timedelta(seconds=i),
            )
            with transaction.atomic():
                appeals_intake.submit(actor="web", data=data, dispatch_now=False)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        crypto.encrypt, crypto.digest = real_encrypt, real_digest  # type: ignore[assignment]
    enc = spent["encrypt"] + spent["digest"]
    return {
        "appeals": n,
        "ms_per_appeal": round(wall / n * 1e3, 2),
        "cpu_ms_per_appeal": round(cpu / n * 1e3, 2),
        "crypto_ms_per_appeal": round(enc / n * 1e3, 3),
        "crypto_share": round(enc / wall, 4),
        "encryptions_per_appeal": round(spent["calls"] / n, 2),
    }


def rotation() -> dict[str, Any]:
    from django.core.management import call_command
    from django.test import override_settings

    from civitas.appeals.models import Contact
    from civitas.kit import crypto

    rows = Contact.objects.count()
    with override_settings(CIVITAS_ENCRYPTION_KEYS=(crypto.new_key(), *crypto.keyring().keys)):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        call_command("keys", "rotate", "--no-progress", stdout=io.StringIO())
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        wall1 = time.perf_counter()
        call_command("keys", "rotate", "--no-progress", stdout=io.StringIO())
        again = time.perf_counter() - wall1
    return {
        "contacts": rows,
        "rows_per_s": round(rows / wall),
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "second_run_s": round(again, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=20000)
    parser.add_argument("--appeals", type=int, default=2000)
    args = parser.parse_args()
    with temp_dir() as tmp:
        fresh_django(tmp)
        figures = {"per_value": per_value(args.values), "intake": intake(args.appeals)}
        figures["rotate"] = rotation()
        emit("crypto", figures)


if __name__ == "__main__":
    main()
