from io import StringIO
from pathlib import Path
from types import SimpleNamespace

from django.core.management import call_command

from apps.agents.routing import classifier
from apps.agents.understanding import intents


def test_prepare_router_skips_when_the_caches_match_the_examples(tmp_path: Path, monkeypatch) -> None:
    # given cache files for the current route and intent examples
    monkeypatch.setattr(classifier, "_cache_dir", lambda: tmp_path)
    monkeypatch.setattr(intents, "_cache_dir", lambda: tmp_path)
    path = classifier.cache_path()
    path.write_bytes(b"cached")
    intent_paths = [intents.cache_path(p) for p in sorted(intents.EXAMPLES_DIR.glob("*.yaml"))]
    for intent_path in intent_paths:
        intent_path.write_bytes(b"cached")
    trained = []
    monkeypatch.setattr(classifier, "get_classifier", lambda: trained.append(1))
    monkeypatch.setattr(intents, "get_intent_classifier", lambda name: trained.append(name))
    out = StringIO()
    # when
    call_command("prepare_router", stdout=out)
    # then nothing was trained
    assert out.getvalue().splitlines() == [
        f"route classifier up to date ({path.name})",
        *(f"intent classifier up to date ({p.name})" for p in intent_paths),
    ]
    # four specialists, confirmation, return reasons, return obstacles, return what-ifs, the human route, help topics,
    # product kinds, item questions
    assert len(intent_paths) == 12
    assert trained == []


def test_prepare_router_trains_a_missing_intent_classifier(tmp_path: Path, monkeypatch) -> None:
    # given current caches for everything but the faq intents
    monkeypatch.setattr(classifier, "_cache_dir", lambda: tmp_path)
    monkeypatch.setattr(intents, "_cache_dir", lambda: tmp_path)
    classifier.cache_path().write_bytes(b"cached")
    for examples in intents.EXAMPLES_DIR.glob("*.yaml"):
        if examples.stem != "faq":
            intents.cache_path(examples).write_bytes(b"cached")
    trained = []
    monkeypatch.setattr(
        intents, "get_intent_classifier", lambda name: trained.append(name) or SimpleNamespace(report="r")
    )
    out = StringIO()
    # when
    call_command("prepare_router", stdout=out)
    # then only the faq classifier was trained
    assert trained == ["faq"]
    assert "intent classifier trained in" in out.getvalue()


def test_the_cache_path_follows_the_examples(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("order:\n  track: [where is my parcel]\n")
    first = classifier.cache_path(tmp_path, tmp_path)
    (tmp_path / "a.yaml").write_text("order:\n  track: [where is my parcel, has it shipped]\n")
    second = classifier.cache_path(tmp_path, tmp_path)

    assert first != second
    assert first.parent == tmp_path
