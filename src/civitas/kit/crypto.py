"""Personal data encrypted at rest, and blind indexes for the few lookups that need equality.

Fields. ``EncryptedCharField``, ``EncryptedEmailField`` and ``EncryptedTextField`` hold text that
code reads and writes as usual: the attribute is the plaintext, the column (``text``, whatever the
``max_length``, which is checked on the plaintext) a Fernet token (AES-128-CBC with an
HMAC-SHA256, a fresh IV per write, so one phone stored twice gives two different tokens). An
empty string is stored as an empty string, so blank checks (``filter(phone="")``) keep working.
Comparing an encrypted column with any other value is refused (a token never equals a
plaintext): filter on a blind index instead.

Keys. ``settings.CIVITAS_ENCRYPTION_KEYS`` is a list of Fernet keys: the first encrypts, all
decrypt (``MultiFernet``). To rotate, put a new key first, restart, run ``civitas keys rotate``
(re-encrypts every column under the first key) and then drop the old key. Fernet tokens do not
name their key; ``civitas keys check`` tries each key to tell how many values each one holds.

Blind indexes. ``BlindIndexField(source="phone")`` keeps an HMAC-SHA256 of the normalised
plaintext of another field under ``settings.CIVITAS_BLIND_INDEX_KEY``, filled on every save and
``bulk_create`` (``pre_save``), never by ``QuerySet.update`` or ``bulk_update`` (which skip it:
write the digest yourself with ``digest()``). The index key does not rotate with the encryption
keys: a new index key would change every digest, and lookups would miss until every row was
recomputed. ``civitas keys check`` counts digests that do not match the current index key and
``civitas keys rotate`` recomputes them, which is the way to change it when it must change.

Code that writes rows without the ORM's fields (raw INSERTs, COPY) calls ``encrypt(value)`` and
``digest(value, kind)`` itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.core import validators
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.db.models.lookups import Exact

from civitas.kit.config import derived_key as derived_key  # re-exported
from civitas.kit.config import parse_keys as parse_keys

KINDS = ("phone", "email", "text")
# Every Fernet token starts with the version byte 0x80 and is at least 100 characters long.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (not a secret: the start of every token)
TOKEN_MIN_LENGTH = 100
_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")


def new_key() -> str:
    """A new random key (32 bytes, URL-safe base64) for CIVITAS_ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode()


def key_id(key: str) -> str:
    """A short name of a key that reveals nothing of it (for reports and the audit log)."""
    return hashlib.sha256(b"civitas-key-id:" + key.encode()).hexdigest()[:10]


class Ciphertext(str):
    """A value that is already a token: written and compared as it is (rotation, migrations)."""

    __slots__ = ()


@dataclass(frozen=True)
class Keyring:
    keys: tuple[str, ...]
    fernets: tuple[Fernet, ...]
    multi: MultiFernet
    index_key: bytes


@lru_cache(maxsize=8)
def _ring(keys: tuple[str, ...], index_secret: str) -> Keyring:
    if not keys:
        raise ImproperlyConfigured(
            "CIVITAS_ENCRYPTION_KEYS is empty: make a key with `civitas keys new`."
        )
    fernets = tuple(Fernet(k) for k in keys)
    index_key = hashlib.sha256(b"civitas-blind-index:" + index_secret.encode()).digest()
    return Keyring(keys, fernets, MultiFernet(list(fernets)), index_key)


def keyring() -> Keyring:
    """The keys in force now (read from settings on each call; cached per value)."""
    from django.conf import settings

    keys = tuple(getattr(settings, "CIVITAS_ENCRYPTION_KEYS", ()) or ())
    if isinstance(keys, str):  # a test's override_settings with the environment's spelling
        keys = parse_keys(keys)
    index_secret = getattr(settings, "CIVITAS_BLIND_INDEX_KEY", "") or settings.SECRET_KEY
    return _ring(keys, index_secret)


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and len(value) >= TOKEN_MIN_LENGTH


def encrypt(value: str | None) -> str:
    """The token of ``value`` under the first key; "" (and None) stay "" (no token)."""
    if not value:
        return ""
    return keyring().multi.encrypt(str(value).encode()).decode()


class DecryptionError(ImproperlyConfigured):
    """A stored token that no key in CIVITAS_ENCRYPTION_KEYS opens."""


def decrypt(value: str | None, *, where: str = "a value") -> str:
    """The plaintext of a stored value. "" stays ""; a value that is not a token (written before
    encryption, or by a raw INSERT) is returned as it is and ``civitas keys check`` counts it."""
    if not value:
        return ""
    if not is_token(value):
        return value
    try:
        return keyring().multi.decrypt(value.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            f"{where} cannot be decrypted with any key in CIVITAS_ENCRYPTION_KEYS: was a key "
            "removed before `civitas keys rotate` finished? Put the old key back (last in the "
            "list) and run `civitas keys check`."
        ) from None


def normalise(value: str | None, kind: str = "phone") -> str:
    """What two values must share to be "the same" for a blind index ("" when nothing to index).

    phone: the digits, at most the last 11 (so +86 138… and 138… meet); fewer than 5 digits
    name no one (a switchboard extension) and are not indexed. email: trimmed, lower case.
    text: Unicode-normalised (NFKC), case-folded, spaces collapsed."""
    text = str(value or "")
    if kind == "phone":
        digits = _DIGITS.sub("", unicodedata.normalize("NFKC", text))
        return digits[-11:] if len(digits) >= 5 else ""
    if kind == "email":
        return text.strip().lower()
    if kind == "text":
        return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()
    raise ValueError(f"unknown blind index kind {kind!r}: one of {', '.join(KINDS)}")


def digest(value: str | None, kind: str = "phone") -> str:
    """The blind index of ``value``: hex HMAC-SHA256 of its normal form, "" when it has none."""
    norm = normalise(value, kind)
    if not norm:
        return ""
    return hmac.new(keyring().index_key, norm.encode(), hashlib.sha256).hexdigest()


def phone_digest(value: str | None) -> str:
    return digest(value, "phone")


# -- Model fields -------------------------------------------------------------------------------


class EncryptedExact(Exact):
    """Only "" (blank checks) and ``Ciphertext`` (a token, for rotation) can be compared."""

    def get_prep_lookup(self) -> Any:
        rhs = self.rhs
        if isinstance(rhs, str) and rhs and not isinstance(rhs, Ciphertext):
            field = self.lhs.output_field
            raise FieldError(
                f"{field.model.__name__}.{field.name} is encrypted and cannot be compared with a "
                "value (every write gives a new token). Filter on its blind index with "
                "civitas.kit.crypto.digest(value) instead."
            )
        return super().get_prep_lookup()


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; the attribute is the plaintext (see the module's doc)."""

    description = "Text encrypted at rest"

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return EncryptedExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None  # Django then refuses the lookup: a token has no order, no substrings

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return value
        return decrypt(value, where=f"{self.model._meta.db_table}.{self.column}")

    def to_python(self, value: Any) -> Any:
        if isinstance(value, Ciphertext):
            return value
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "" or isinstance(value, Ciphertext):
            return value
        if isinstance(value, str) and self.max_length and len(value) > self.max_length:
            # Never reached through forms or full_clean; a guard against silent overflow.
            raise ValueError(
                f"{self.model.__name__}.{self.name}: longer than {self.max_length} characters"
            )
        return encrypt(str(value))


class EncryptedCharField(EncryptedTextField):
    """A one-line encrypted value; ``max_length`` limits the plaintext (the column is text)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        defaults: dict[str, Any] = {
            "form_class": forms.CharField,
            "max_length": self.max_length,
            "widget": forms.TextInput,
        }
        if self.null:
            defaults["empty_value"] = None
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)


class EncryptedEmailField(EncryptedCharField):
    default_validators = [validators.validate_email]
    description = "E-mail address encrypted at rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().formfield(form_class=forms.EmailField, widget=forms.EmailInput, **kwargs)


class BlindIndexField(models.CharField):
    """The digest of another field's plaintext, kept in step on save and bulk_create."""

    def __init__(self, *args: Any, source: str = "", kind: str = "phone", **kwargs: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown blind index kind {kind!r}")
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"], kwargs["kind"] = self.source, self.kind
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = digest(getattr(model_instance, self.source, ""), self.kind)
        setattr(model_instance, self.attname, value)
        return value


def with_indexes(instance: models.Model, update_fields: Iterable[str] | None) -> Any:
    """``update_fields`` with the blind indexes of any source field in it (a save that names
    ``phone`` must also write ``phone_digest``, or an anonymised row would keep its digest)."""
    if update_fields is None:
        return None
    names = list(update_fields)
    for f in instance._meta.concrete_fields:
        if isinstance(f, BlindIndexField) and f.source in names and f.name not in names:
            names.append(f.name)
    return names


class IndexedModel(models.Model):
    """A model with blind indexes: ``save(update_fields=[source])`` writes the index too."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = with_indexes(self, kwargs["update_fields"])
        super().save(*args, **kwargs)


# -- Finding and rewriting encrypted columns ----------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A model's encrypted columns and blind indexes."""

    model: type[models.Model]
    encrypted: tuple[str, ...]  # attribute names
    indexes: tuple[tuple[str, str, str], ...]  # (index attribute, source attribute, kind)

    @property
    def label(self) -> str:
        return self.model._meta.label


def targets() -> list[Target]:
    """Every installed model with encrypted fields, in a stable order."""
    from django.apps import apps

    found = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
        fields = model._meta.concrete_fields
        enc = tuple(f.attname for f in fields if isinstance(f, EncryptedTextField))
        if not enc:
            continue
        idx = tuple((f.attname, f.source, f.kind) for f in fields if isinstance(f, BlindIndexField))
        found.append(Target(model, enc, idx))
    return found


def which_key(token: str) -> int | None:
    """The position of the key that opens ``token`` (0 is the first), None when none does."""
    for i, f in enumerate(keyring().fernets):
        try:
            f.decrypt(token.encode())
        except InvalidToken:
            continue
        return i
    return None


def rewrite_table(
    connection: Any,
    table: str,
    pk: str,
    columns: Sequence[str],
    indexes: Iterable[tuple[str, str, str]] = (),
    *,
    forwards: bool = True,
    batch: int = 1000,
) -> int:
    """Encrypt (or, backwards, decrypt) ``columns`` of every row of ``table`` in place, with raw
    SQL in batches by primary key, and fill the blind indexes (``(column, source, kind)``).
    For data migrations: runs in the migration's transaction. Returns the rows changed."""
    q = connection.ops.quote_name
    cols = list(columns)
    idx = list(indexes)
    changed = 0
    last: Any = None
    select = "SELECT {} FROM {}".format(", ".join(q(c) for c in [pk, *cols]), q(table))  # noqa: S608
    sets = ", ".join(f"{q(c)} = %s" for c in [*cols, *(i[0] for i in idx)])
    update = f"UPDATE {q(table)} SET {sets} WHERE {q(pk)} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        while True:
            where = "" if last is None else f" WHERE {q(pk)} > %s"
            cursor.execute(
                f"{select}{where} ORDER BY {q(pk)} LIMIT {int(batch)}",
                [] if last is None else [last],
            )
            rows = cursor.fetchall()
            if not rows:
                return changed
            params = []
            for row in rows:
                key, values = row[0], list(row[1:])
                plain = {
                    c: decrypt(v or "", where=f"{table}.{c}")
                    for c, v in zip(cols, values, strict=True)
                }
                new = [
                    (encrypt(plain[c]) if not is_token(v or "") else v) if forwards else plain[c]
                    for c, v in zip(cols, values, strict=True)
                ]
                digests = [digest(plain[src], kind) if forwards else "" for _c, src, kind in idx]
                if new != values or idx:
                    params.append([*new, *digests, key])
            if params:
                cursor.executemany(update, params)
                changed += len(params)
            last = rows[-1][0]
