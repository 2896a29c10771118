import pytest

from apps.knowledge.models import Chunk, Document
from apps.knowledge.pages import page_sections

from .conftest import ingest, md

pytestmark = pytest.mark.django_db

PAGES = {
    "https://shop.example/help/returns": md(
        "Returns",
        ("Return window", "You can send items back within 30 days after the parcel was delivered."),
        ("Return fee", "Change-of-mind returns cost a small label fee, taken from the refund."),
    ),
    "https://shop.example/help/shipping": md("Shipping", ("Express", "Express parcels arrive in one to two days.")),
}


def test_page_sections_are_every_section_of_the_chunks_page_in_order(fake_backend):
    # given a help page of two sections and another page
    ingest("help", PAGES)
    fee = Chunk.objects.get(document__uri="https://shop.example/help/returns", text__contains="label fee")
    expected = list(Chunk.objects.filter(document=fee.document).order_by("position").values_list("pk", flat=True))

    # when
    sections = page_sections(chunk_id=fee.pk)

    # then: the whole page, in page order, and nothing from another page
    assert [s.chunk_id for s in sections] == expected
    assert {s.document_title for s in sections} == {"Returns"}
    assert any("30 days" in s.text for s in sections)
    assert any("label fee" in s.text for s in sections)


def test_page_sections_of_an_inactive_page_or_an_unknown_chunk_are_empty(fake_backend):
    # given
    ingest("help", PAGES)
    chunk = Chunk.objects.filter(document__uri="https://shop.example/help/returns").first()
    Document.objects.filter(pk=chunk.document_id).update(is_active=False)

    # then
    assert page_sections(chunk_id=chunk.pk) == []
    assert page_sections(chunk_id=10**9) == []
