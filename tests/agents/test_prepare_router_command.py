from io import StringIO
from pathlib import Path

from django.core.management import call_command

from apps.agents.routing import classifier


def test_prepare_router_skips_when_the_cache_matches_the_examples(tmp_path: Path, monkeypatch) -> None:
    # given a cache file for the current examples
    monkeypatch.setattr(classifier, "_cache_dir", lambda: tmp_path)
    path = classifier.cache_path()
    path.write_bytes(b"cached")
    trained = []
    monkeypatch.setattr(classifier, "get_classifier", lambda: trained.append(1))
    out = StringIO()
    # when
    call_command("prepare_router", stdout=out)
    # then nothing was trained
    assert out.getvalue().strip() == f"route classifier up to date ({path.name})"
    assert trained == []


def test_the_cache_path_follows_the_examples(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("order:\n  track: [where is my parcel]\n")
    first = classifier.cache_path(tmp_path, tmp_path)
    (tmp_path / "a.yaml").write_text("order:\n  track: [where is my parcel, has it shipped]\n")
    second = classifier.cache_path(tmp_path, tmp_path)

    assert first != second
    assert first.parent == tmp_path
