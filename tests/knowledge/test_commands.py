import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from apps.core.errors import ApplicationError
from apps.knowledge.demo import DEMO_KB_DIR, demo_documents
from apps.knowledge.models import Chunk, Document

from .conftest import ingest, md, write

pytestmark = pytest.mark.django_db


def _run(*args: object, **options: object) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_ingest_command_prints_a_summary_and_skips_unchanged_files(tmp_path, fake_backend):
    # given
    write(tmp_path / "returns.md", md("Returns", ("Window", "Thirty days."), ("Fees", "A fee.")))
    write(tmp_path / "hours.txt", "Hours\n\nNine to six.")

    # when
    first = _run("ingest", str(tmp_path), "--source", "help", "--tag", "faq", "--no-progress")
    second = _run("ingest", str(tmp_path), "--source", "help", "--tag", "faq", "--no-progress")

    # then
    assert first.strip() == (
        "2 documents: 2 new, 0 re-indexed, 0 unchanged, 0 duplicates skipped, 0 failed, 0 removed; 3 chunks written"
    )
    assert second.strip() == (
        "2 documents: 0 new, 0 re-indexed, 2 unchanged, 0 duplicates skipped, 0 failed, 0 removed; 0 chunks written"
    )
    assert sorted(Document.objects.values_list("title", "tags")) == [("Hours", ["faq"]), ("Returns", ["faq"])]


def test_ingest_command_refuses_a_missing_path(tmp_path, fake_backend):
    # given / when / then
    with pytest.raises(CommandError, match="no such file or folder"):
        _run("ingest", str(tmp_path / "nope"), "--no-progress")
    assert Document.objects.count() == 0


def test_search_command_prints_ranked_chunks_with_their_source(tmp_path, fake_backend):
    # given
    write(tmp_path / "returns.md", md("Returns", ("Window", "Return items within thirty days.")))
    write(tmp_path / "returns.md.url", "https://shop.example/returns")
    write(tmp_path / "hours.md", md("Hours", ("Weekdays", "Open nine to six.")))
    _run("ingest", str(tmp_path), "--no-progress")

    # when
    out = _run("search", "return items", "-k", "1")

    # then
    lines = out.splitlines()
    assert re.fullmatch(r"1\. score=0\.\d{4} similarity=0\.\d{3} bm25=0\.\d{3} vector#=1 bm25#=1 chunk=\d+", lines[0])
    assert lines[1:] == [
        "   Returns > Window",
        "   https://shop.example/returns",
        "   Return items within thirty days.",
    ]


def test_search_command_says_so_when_nothing_matches(fake_backend):
    # given an empty knowledge base / when
    out = _run("search", "anything at all")

    # then
    assert out == "no results\n"


def test_demo_knowledge_base_renders_policy_numbers_from_the_shop_settings(settings):
    # given
    settings.SHOP_RETURN_WINDOW_DAYS = 45
    settings.SHOP_RETURN_SHIPPING_FEE = Decimal("7.50")
    settings.SHOP_WARRANTY_MONTHS = 36

    # when
    documents = {d.uri: d.raw_content for d in demo_documents()}

    # then
    assert len(documents) == len(list(DEMO_KB_DIR.glob("*.md"))) >= 25
    returns = documents["https://tidewater.example/help/returns-policy"]
    assert "You can return most items within 45 days of delivery for a\nrefund." in returns
    assert "return shipping fee of $7.50" in returns
    assert "our 36-month warranty" in returns
    assert not any("{{" in text or "{%" in text for text in documents.values())
    assert not any(re.search(r"\b30(-day| days (of|from|after) deliver)", text) for text in documents.values())


def test_a_demo_template_naming_an_unknown_setting_is_an_error(tmp_path):
    # given
    write(tmp_path / "bad.md", "# Bad\n\nReturn within {{ return_window_dayz }} days.")

    # when / then
    with pytest.raises(ApplicationError, match=r"bad\.md: the template uses a variable"):
        demo_documents(tmp_path)


def test_ingest_demo_kb_is_idempotent_and_re_indexes_only_what_a_setting_changes(fake_backend, settings):
    # given
    first = _run("ingest_demo_kb")
    chunk_count = Chunk.objects.count()
    fake_backend.reset()

    # when
    second = _run("ingest_demo_kb")
    settings.SHOP_REFUND_PROCESSING_DAYS = 7
    third = _run("ingest_demo_kb")

    # then
    total = len(list(DEMO_KB_DIR.glob("*.md")))
    assert first.startswith(f"demo knowledge base: {total} documents: {total} new,")
    assert second.startswith(f"demo knowledge base: {total} documents: 0 new, 0 re-indexed, {total} unchanged,")
    changed = sum("{{ refund_processing_days }}" in p.read_text() for p in DEMO_KB_DIR.glob("*.md"))
    assert third.startswith(
        f"demo knowledge base: {total} documents: 0 new, {changed} re-indexed, {total - changed} unchanged,"
    )
    assert Chunk.objects.count() == chunk_count
    assert Chunk.objects.filter(text__contains="within 7 business days").exists()
    assert not Chunk.objects.filter(text__contains="within 10 business days").exists()


def test_reindex_command_rebuilds_only_the_chosen_source(fake_backend):
    # given
    ingest("help", {"returns.md": md("Returns", ("Window", "Thirty days."))})
    ingest("blog", {"story.md": md("Story", ("Start", "We began in a shed."))})
    help_ids = set(Chunk.objects.filter(document__source__name="help").values_list("id", flat=True))
    blog_ids = set(Chunk.objects.filter(document__source__name="blog").values_list("id", flat=True))

    # when
    out = _run("reindex", "--source", "help")
    stale_only = _run("reindex", "--stale-only")

    # then
    assert out.strip() == "1 documents checked, 0 failed; 1 chunks written"
    assert stale_only.strip() == "2 documents checked, 0 failed; 0 chunks written"
    assert set(Chunk.objects.filter(document__source__name="help").values_list("id", flat=True)).isdisjoint(help_ids)
    assert set(Chunk.objects.filter(document__source__name="blog").values_list("id", flat=True)) == blog_ids
