"""Personal data encrypted at rest: the columns, the keys and their rotation, the blind index."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import override_settings

from civitas.appeals.models import Contact
from civitas.kit import clock, crypto
from civitas.kit.config import ConfigError, load
from civitas.kit.models import AuditEntry
from civitas.risk import tasks
from civitas.risk.models import Alert, AlertKind
from tests.racing import needs_postgres
from tests.risk.test_detectors import NOW, submit

KEY_A = crypto.new_key()
KEY_B = crypto.new_key()
PHONE = "13812345678"
GOOD_SECRET = "k" * 20 + "qwertyuiopasdfghjkl"


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return str(cursor.fetchone()[0])


def raw_contacts() -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, name, phone, email, on_behalf_of, phone_digest FROM appeals_contact"
        )
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def contact(city: dict[str, Any], phone: str = PHONE, **extra: Any) -> Contact:
    appeal = submit(NOW - timedelta(hours=1), phone=phone)
    c = appeal.contact
    for name, value in extra.items():
        setattr(c, name, value)
    c.save()
    return Contact.objects.get(pk=c.pk)


@pytest.mark.django_db
class TestColumns:
    def test_the_column_holds_a_token_and_the_attribute_the_plaintext(
        self, city: dict[str, Any]
    ) -> None:
        c = contact(city, email="Li.Lei@Example.com", on_behalf_of="Wang Fang")
        row = next(r for r in raw_contacts() if r["id"] == c.pk)
        for column, plain in (
            ("name", "Li Lei"),
            ("phone", PHONE),
            ("email", "Li.Lei@Example.com"),
            ("on_behalf_of", "Wang Fang"),
        ):
            assert crypto.is_token(row[column]), column
            assert plain not in row[column] and plain.lower() not in row[column].lower()
            assert getattr(c, column) == plain
        assert (
            row["phone_digest"] == crypto.phone_digest(PHONE) and PHONE not in row["phone_digest"]
        )
        # values() and values_list() read plaintext too
        assert Contact.objects.filter(pk=c.pk).values_list("phone", flat=True)[0] == PHONE
        assert Contact.objects.values("name").get(pk=c.pk) == {"name": "Li Lei"}
        # the same phone written twice gives two different tokens
        other = contact(city)
        assert raw("appeals_contact", "phone", other.pk) != row["phone"]

    def test_empty_stays_empty_and_blank_checks_work(self, city: dict[str, Any]) -> None:
        c = contact(city, email="")
        assert raw("appeals_contact", "email", c.pk) == ""
        assert Contact.objects.filter(email="").count() == 1
        assert Contact.objects.exclude(phone="").count() == 1

    def test_comparing_an_encrypted_column_with_a_value_is_refused(
        self, city: dict[str, Any]
    ) -> None:
        contact(city)
        with pytest.raises(FieldError, match="blind index"):
            list(Contact.objects.filter(phone=PHONE))
        with pytest.raises(FieldError):
            list(Contact.objects.filter(phone__icontains="1381"))

    def test_blind_index_finds_the_same_phone_however_written(self, city: dict[str, Any]) -> None:
        c = contact(city, phone="+86 138-1234-5678")
        contact(city, phone="13900000000")
        found = Contact.objects.filter(phone_digest=crypto.phone_digest(PHONE))
        assert list(found.values_list("pk", flat=True)) == [c.pk]
        assert crypto.phone_digest("110") == ""  # too short to name anyone: not indexed

    def test_saving_the_phone_alone_updates_its_digest(self, city: dict[str, Any]) -> None:
        c = contact(city)
        c.phone = ""
        c.save(update_fields=["phone"])
        assert raw("appeals_contact", "phone_digest", c.pk) == ""

    def test_bulk_create_encrypts_and_indexes(self, city: dict[str, Any]) -> None:
        appeal = submit(NOW - timedelta(hours=1), phone="")
        Contact.objects.filter(appeal=appeal).delete()
        Contact.objects.bulk_create([Contact(appeal=appeal, name="Zhao Lei", phone=PHONE)])
        row = raw_contacts()[0]
        assert crypto.is_token(row["name"]) and row["phone_digest"] == crypto.phone_digest(PHONE)

    def test_the_plaintext_length_is_checked_not_the_token(self, city: dict[str, Any]) -> None:
        c = contact(city)
        c.phone = "1" * 40
        c.full_clean()  # 40 characters of plaintext fit, though its token is 140 long
        c.phone = "1" * 41
        with pytest.raises(Exception, match="40"):
            c.full_clean()


@pytest.mark.django_db
class TestKeys:
    def test_rotation_moves_everything_to_the_new_key_and_the_old_one_can_go(
        self, city: dict[str, Any]
    ) -> None:
        with override_settings(CIVITAS_ENCRYPTION_KEYS=(KEY_A,)):
            made = [contact(city, phone=f"1380000000{i}") for i in range(5)]
        with override_settings(CIVITAS_ENCRYPTION_KEYS=(KEY_B, KEY_A)):
            out = io.StringIO()
            call_command("keys", "check", "--no-progress", stdout=out)
            assert "0 under key 1" in out.getvalue() and "under older keys" in out.getvalue()
            out = io.StringIO()
            call_command("keys", "rotate", "--no-progress", "--batch", "2", stdout=out)
            assert "Rotated: " in out.getvalue()
            # run again: nothing left to do (resumable)
            out = io.StringIO()
            call_command("keys", "rotate", "--no-progress", stdout=out)
            assert "Rotated: 0 rows rewritten" in out.getvalue()
        with override_settings(CIVITAS_ENCRYPTION_KEYS=(KEY_B,)):
            for c, i in zip(made, range(5), strict=True):
                again = Contact.objects.get(pk=c.pk)
                assert (again.name, again.phone) == ("Li Lei", f"1380000000{i}")
            out = io.StringIO()
            call_command("keys", "check", "--no-progress", stdout=out)
            assert "0 that no key opens" in out.getvalue()
        with override_settings(CIVITAS_ENCRYPTION_KEYS=(KEY_A,)):
            with pytest.raises(crypto.DecryptionError, match="keys check"):
                Contact.objects.get(pk=made[0].pk)
            with pytest.raises(CommandError, match="cannot be decrypted"):
                call_command("keys", "check", "--no-progress", stdout=io.StringIO())
        entry = AuditEntry.objects.filter(action="keys.rotate").first()
        assert entry is not None
        text = json.dumps(entry.summary)
        assert "13800000000" not in text and "Li Lei" not in text and KEY_B not in text
        assert entry.object_id == crypto.key_id(KEY_B)

    def test_rotation_encrypts_plaintext_left_by_raw_writes_and_fixes_digests(
        self, city: dict[str, Any]
    ) -> None:
        c = contact(city)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE appeals_contact SET name = %s, phone_digest = %s WHERE id = %s",
                ["Raw Name", "stale", c.pk],
            )
        assert Contact.objects.get(pk=c.pk).name == "Raw Name"  # read as it is
        out = io.StringIO()
        call_command("keys", "check", "--no-progress", stdout=out)
        assert "1 plaintext" in out.getvalue() and "1 stale digests" in out.getvalue()
        call_command("keys", "rotate", "--no-progress", stdout=io.StringIO())
        row = next(r for r in raw_contacts() if r["id"] == c.pk)
        assert crypto.is_token(row["name"]) and row["phone_digest"] == crypto.phone_digest(PHONE)

    def test_migration_helper_encrypts_and_decrypts_in_place(self, city: dict[str, Any]) -> None:
        c = contact(city)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE appeals_contact SET name = 'Plain', phone = %s, phone_digest = '' "
                "WHERE id = %s",
                [PHONE, c.pk],
            )
        cols = ["name", "phone", "email", "on_behalf_of"]
        idx = [("phone_digest", "phone", "phone")]
        crypto.rewrite_table(connection, "appeals_contact", "id", cols, idx, batch=1)
        row = raw_contacts()[0]
        assert crypto.is_token(row["name"]) and crypto.is_token(row["phone"])
        assert row["phone_digest"] == crypto.phone_digest(PHONE)
        crypto.rewrite_table(connection, "appeals_contact", "id", cols, idx, forwards=False)
        row = raw_contacts()[0]
        assert (row["name"], row["phone"], row["phone_digest"]) == ("Plain", PHONE, "")

    def test_new_prints_usable_keys(self) -> None:
        out = io.StringIO()
        call_command("keys", "new", "--count", "2", stdout=out)
        keys = out.getvalue().split()
        assert len(keys) == 2 and keys[0] != keys[1]
        assert crypto.parse_keys(",".join(keys)) == tuple(keys)


class TestConfig:
    def test_production_refuses_to_start_without_keys(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="civitas keys new"):
            load({"SECRET_KEY": GOOD_SECRET}, cwd=tmp_path)

    def test_a_bad_key_is_named(self, tmp_path: Path) -> None:
        env = {"SECRET_KEY": GOOD_SECRET, "CIVITAS_ENCRYPTION_KEYS": f"{KEY_A},nonsense"}
        with pytest.raises(ConfigError, match="key 2 of 2"):
            load(env, cwd=tmp_path)

    def test_keys_in_order_and_a_debug_default(self, tmp_path: Path) -> None:
        env = {"SECRET_KEY": GOOD_SECRET, "CIVITAS_ENCRYPTION_KEYS": f" {KEY_B}, {KEY_A} "}
        assert load(env, cwd=tmp_path).encryption_keys == (KEY_B, KEY_A)
        debug = load({"CIVITAS_DEBUG": "1"}, cwd=tmp_path)
        assert len(debug.encryption_keys) == 1
        assert debug.encryption_keys == load({"CIVITAS_DEBUG": "1"}, cwd=tmp_path).encryption_keys


@pytest.mark.django_db
def test_repeat_callers_are_found_through_the_digest(city: dict[str, Any]) -> None:
    submit(NOW - timedelta(days=12), phone="138 1111 2222", text="Our stairwell light is out")
    submit(
        NOW - timedelta(hours=2),
        phone="+86 13811112222",
        text="Still no light; if nothing happens I will go to the media and a lawyer",
        matter="",
    )
    with clock.frozen(NOW):
        tasks.run_now("T", NOW.date(), "daily")
    repeat = Alert.objects.get(kind=AlertKind.REPEAT)
    assert repeat.appeals.count() == 2


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_an_edit_during_rotation_is_not_lost(city: dict[str, Any]) -> None:
    with override_settings(CIVITAS_ENCRYPTION_KEYS=(KEY_A,)):
        made = [contact(city, phone=f"1370000000{i}") for i in range(6)]
    target = made[3].pk
    locked = threading.Event()
    errors: list[BaseException] = []

    def edit() -> None:
        # An operator corrects the phone in a process that still runs with the old key first
        # (settings are per process, so its token is made here), holding the row while
        # rotation passes it.
        try:
            with transaction.atomic():
                list(Contact.objects.select_for_update().filter(pk=target).values_list("pk"))
                locked.set()
                token = Fernet(KEY_A).encrypt(b"13999999999").decode()
                Contact.objects.filter(pk=target).update(phone=crypto.Ciphertext(token))
                time.sleep(0.6)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    editor = threading.Thread(target=edit)
    editor.start()
    assert locked.wait(10), errors
    out = io.StringIO()
    with override_settings(CIVITAS_ENCRYPTION_KEYS=(KEY_B, KEY_A)):
        call_command("keys", "rotate", "--no-progress", "--batch", "2", stdout=out)
    editor.join(10)
    assert not errors, errors
    with override_settings(CIVITAS_ENCRYPTION_KEYS=(KEY_B,)):
        assert Contact.objects.get(pk=target).phone == "13999999999"  # the edit survived
        assert [Contact.objects.get(pk=c.pk).phone for c in made if c.pk != target] == [
            f"1370000000{i}" for i in range(6) if i != 3
        ]
        assert crypto.which_key(raw("appeals_contact", "phone", target)) == 0
    assert "0 rows busy" in out.getvalue()
