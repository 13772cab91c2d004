"""Hostile uploads: type by content (not name or Content-Type), size limits, image and zip
bombs, scripts in SVG or HTML, polyglots. Appeals' photos, consultations' documents and the
data hub's files."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from civitas.appeals import attachments
from civitas.hub import readers
from civitas.kit.errors import InvalidInput
from civitas.participation import consultations

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG that declares ``width`` x ``height`` pixels (a decompression bomb's header:
    Pillow reads the size before any pixel)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def real_png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


class TestAppealPhotos:
    @pytest.mark.parametrize(
        ("width", "height"),
        [(20_000, 20_000), (10_000, 9_000)],  # past Pillow's error limit; in its warning band
    )
    def test_a_decompression_bomb_is_refused_cleanly(self, width: int, height: int) -> None:
        with pytest.raises(InvalidInput, match="too many pixels") as caught:
            attachments.check_image(SimpleUploadedFile("bomb.png", png_header(width, height)))
        assert caught.value.status == 422 and "bomb.png" in caught.value.message

    def test_a_picture_past_the_configured_pixels_is_refused(self) -> None:
        with (
            override_settings(CIVITAS_MAX_IMAGE_PIXELS=1000),
            pytest.raises(InvalidInput, match="too large"),
        ):
            attachments.check_image(SimpleUploadedFile("big.png", real_png((40, 40))))

    @pytest.mark.parametrize(
        ("name", "data"),
        [
            ("photo.jpg", SVG),
            ("photo.png", HTML),
            ("photo.svg", SVG),
            ("photo.jpg", b"GIF89a" + b"\x00" * 40),
            ("photo.jpg", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),
            ("photo.jpg", b""),
        ],
    )
    def test_the_type_is_decided_by_content_not_by_name(self, name: str, data: bytes) -> None:
        upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
        with pytest.raises(InvalidInput):
            attachments.check_image(upload)

    def test_a_polyglot_keeps_only_its_pixels(self) -> None:
        # A valid PNG with an HTML page appended: the stored copy is re-encoded from pixels.
        clean = attachments.check_image(SimpleUploadedFile("x.png", real_png() + HTML))
        assert clean.content_type == "image/png" and b"<script" not in clean.data
        assert Image.open(io.BytesIO(clean.data)).size == (8, 8)

    def test_the_stored_name_carries_no_path_or_markup(self) -> None:
        clean = attachments.check_image(
            SimpleUploadedFile('../../etc/<img src=x onerror="a()">.png', real_png())
        )
        assert "/" not in clean.name and "<" not in clean.name and clean.name.endswith(".png")

    def test_a_file_over_the_size_limit_is_refused_before_decoding(self) -> None:
        big = SimpleUploadedFile("huge.png", b"\x89PNG" + b"\x00" * (attachments.MAX_BYTES + 1))
        with pytest.raises(InvalidInput, match="larger than"):
            attachments.check_image(big)


class TestConsultationDocuments:
    @pytest.mark.parametrize(
        ("name", "data"),
        [
            ("plan.pdf", SVG),
            ("plan.pdf", HTML),
            ("plan.docx", b"MZ\x90\x00" + b"\x00" * 100),  # a Windows program
            ("plan.svg", SVG),
        ],
    )
    def test_scripts_and_programs_are_refused_whatever_their_name(
        self, name: str, data: bytes
    ) -> None:
        with pytest.raises(InvalidInput, match="not accepted"):
            consultations.check_document(SimpleUploadedFile(name, data, "application/pdf"))

    def test_a_zip_whose_mimetype_entry_is_a_bomb_is_refused(self) -> None:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("mimetype", b"a" * 50_000_000)  # 50 MB that pack to ~50 kB
            z.writestr("content.xml", b"<x/>")
        assert len(out.getvalue()) < 200_000
        with pytest.raises(InvalidInput, match="not accepted"):
            consultations.check_document(SimpleUploadedFile("plan.odt", out.getvalue()))

    def test_a_pdf_is_taken_by_its_content_and_renamed(self) -> None:
        doc = consultations.check_document(
            SimpleUploadedFile("plan<script>.exe", b"%PDF-1.7\n1 0 obj\n", "text/html")
        )
        assert doc.content_type == "application/pdf" and doc.name == "planscript.pdf"

    def test_an_image_bomb_among_documents_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="too many pixels"):
            consultations.check_document(SimpleUploadedFile("map.png", png_header(20_000, 20_000)))

    def test_the_size_limit(self) -> None:
        with (
            override_settings(CIVITAS_CONSULTATION_DOCUMENT_MB=1),
            pytest.raises(InvalidInput, match="larger than 1 MB"),
        ):
            consultations.check_document(
                SimpleUploadedFile("plan.pdf", b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 1))
            )


def workbook_with(sheet_xml: bytes) -> bytes:
    """An .xlsx whose first sheet is ``sheet_xml`` (the other parts are minimal)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
            'formats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
            'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return out.getvalue()


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    b"</sheetData></worksheet>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row>'
    b"</sheetData></worksheet>"
)


PLAIN = (
    b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    b'2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
    b'<row r="2"><c r="A2" t="inlineStr"><is><t>=HYPERLINK("x")</t></is></c></row>'
    b"</sheetData></worksheet>"
)


class Field:
    name = label_en = "name"
    label_zh = "名称"
    required = True


class TestHubFiles:
    def test_the_kind_is_decided_by_content(self, tmp_path: Path) -> None:
        path = tmp_path / "data.xlsx"
        path.write_text("name,phone\na,1\n")
        with pytest.raises(readers.FileProblem, match="content is CSV"):
            readers.detect(path, "data.xlsx")
        path.write_bytes(HTML.replace(b"<!doctype", b"\x00<!doctype"))
        with pytest.raises(readers.FileProblem, match="not a CSV"):
            readers.detect(path, "data.csv")

    def test_a_workbook_bomb_is_refused_before_unpacking(self, tmp_path: Path) -> None:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("xl/sharedStrings.xml", b" " * 300_000_000)
        path = tmp_path / "bomb.xlsx"
        path.write_bytes(out.getvalue())
        with pytest.raises(readers.FileProblem, match="unpacks to"):
            list(readers.read_xlsx(path, []))

    @pytest.mark.parametrize("sheet", [LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
    def test_entities_in_a_workbook_are_refused(self, tmp_path: Path, sheet: bytes) -> None:
        path = tmp_path / "evil.xlsx"
        path.write_bytes(workbook_with(sheet))
        with pytest.raises(readers.FileProblem, match="cannot be opened"):
            list(readers.read_xlsx(path, [Field]))

    def test_the_same_workbook_without_entities_reads(self, tmp_path: Path) -> None:
        path = tmp_path / "plain.xlsx"
        path.write_bytes(workbook_with(PLAIN))
        assert list(readers.read_xlsx(path, [Field])) == [(2, {"name": '=HYPERLINK("x")'})]
