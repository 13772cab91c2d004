"""Photos and evidence: type checked by content, size limited, metadata (EXIF GPS) removed.

The stored copy is re-encoded from the decoded pixels, so nothing of the original file's
metadata survives; the orientation is applied first so the picture still looks right.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from civitas.appeals.models import Appeal, Attachment
from civitas.kit import clock
from civitas.kit.errors import InvalidInput

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_FILES = 6
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


def max_pixels() -> int:
    """The most pixels an upload may decode to (CIVITAS_MAX_IMAGE_PIXELS)."""
    return int(getattr(settings, "CIVITAS_MAX_IMAGE_PIXELS", MAX_PIXELS) or MAX_PIXELS)


@dataclass(frozen=True)
class CleanImage:
    name: str
    data: bytes
    content_type: str


def _too_big(name: str) -> InvalidInput:
    return InvalidInput(
        _("%(name)s: larger than %(mb)d MB") % {"name": name, "mb": MAX_BYTES // (1024 * 1024)},
        details={"field": "photos"},
    )


def _read(upload: Any) -> tuple[str, bytes]:
    name = getattr(upload, "name", "photo") or "photo"
    if hasattr(upload, "read"):
        if getattr(upload, "size", 0) and upload.size > MAX_BYTES:
            raise _too_big(name)
        raw = upload.read(MAX_BYTES + 1)
    else:
        raw = bytes(upload)
    if len(raw) > MAX_BYTES:
        raise _too_big(name)
    return name, raw


def check_image(upload: Any) -> CleanImage:
    """Decode, check and re-encode an uploaded image; raise InvalidInput naming the file."""
    name, raw = _read(upload)
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its limit refuses) when a small file declares a
            # huge picture: a decompression bomb. Both are refusals here, never a crash.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            clean_bytes, kind = _decode(name, raw)
    except InvalidInput:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise InvalidInput(
            _("%(name)s: the picture declares too many pixels to be opened safely")
            % {"name": name},
            details={"field": "photos"},
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidInput(
            _("%(name)s: not a readable image (%(error)s); send a JPEG, PNG or WebP photo")
            % {"name": name, "error": exc.__class__.__name__},
            details={"field": "photos"},
        ) from exc
    content_type, ext = FORMATS[kind]
    stem = "".join(ch for ch in name.rsplit(".", 1)[0] if ch.isalnum() or ch in "-_")[:40]
    return CleanImage(f"{stem or 'photo'}.{ext}", clean_bytes, content_type)


def _decode(name: str, raw: bytes) -> tuple[bytes, str]:
    with Image.open(io.BytesIO(raw)) as probe:
        kind = probe.format or ""
        if kind not in FORMATS:
            raise InvalidInput(
                _("%(name)s: %(kind)s is not accepted; send a JPEG, PNG or WebP photo")
                % {"name": name, "kind": kind or _("an unknown format")},
                details={"field": "photos"},
            )
        if probe.width * probe.height > max_pixels():
            raise InvalidInput(
                _("%(name)s: the picture is too large (%(width)dx%(height)d)")
                % {"name": name, "width": probe.width, "height": probe.height},
                details={"field": "photos"},
            )
        probe.verify()
    with Image.open(io.BytesIO(raw)) as img:
        img.load()
        clean = ImageOps.exif_transpose(img) or img
        if kind == "JPEG" and clean.mode not in ("RGB", "L"):
            clean = clean.convert("RGB")
        out = io.BytesIO()
        clean.save(out, format=kind, **({"quality": 88} if kind != "PNG" else {}))
    return out.getvalue(), kind


def store(*, appeal: Appeal, image: CleanImage, purpose: str, by: str) -> Attachment:
    if appeal.attachments.count() >= MAX_FILES * 3:
        raise InvalidInput(
            _("this case already holds the most files it may"), details={"field": "photos"}
        )
    digest = hashlib.sha256(image.data).hexdigest()
    att = Attachment(
        appeal=appeal,
        content_type=image.content_type,
        size=len(image.data),
        sha256=digest,
        purpose=purpose,
        uploaded_by=by,
        uploaded_at=clock.now(),
    )
    att.file.save(
        f"{appeal.ticket}-{digest[:12]}-{image.name}", ContentFile(image.data), save=False
    )
    att.save()
    return att
