import io
import json
import sys

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.slow


def _run(*args: str, stdin: str = "") -> list[dict]:
    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("classify", *args, stdout=out)
    finally:
        sys.stdin = old
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_classify_reads_stdin_one_message_per_line():
    # when two messages (and a blank line) are piped in
    rows = _run(stdin="where is my order TW-100234\n\nwhat's the weather in Oslo tomorrow\n")

    # then one JSON object per message, with exactly the documented keys
    assert [list(r) for r in rows] == [["text", "route", "confidence", "source"]] * 2
    assert [(r["text"], r["route"], r["source"]) for r in rows] == [
        ("where is my order TW-100234", "order", "local"),
        ("what's the weather in Oslo tomorrow", "out_of_scope", "local"),
    ]
    assert all(isinstance(r["confidence"], float) and 0.0 <= r["confidence"] <= 1.0 for r in rows)


def test_classify_reads_a_csv_text_column(tmp_path):
    # given a CSV with a text column among others
    path = tmp_path / "messages.csv"
    path.write_text('id,text\n1,"I want a refund, the vase is broken"\n2,talk to a human please\n3,\n')

    # when
    rows = _run("--csv", str(path))

    # then
    assert [(r["text"], r["route"]) for r in rows] == [
        ("I want a refund, the vase is broken", "returns"),
        ("talk to a human please", "human"),
    ]


def test_classify_reason_flag_adds_the_reason():
    [row] = _run("--reason", stdin="unsubscribe me from the newsletter\n")

    assert list(row) == ["text", "route", "confidence", "source", "reason"]
    assert row["reason"].startswith("classifier: faq p=")


def test_classify_refuses_a_csv_without_text_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("message\nhello\n")

    with pytest.raises(CommandError, match="has no `text` column"):
        _run("--csv", str(path))


def test_classify_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        _run("--csv", str(tmp_path / "missing.csv"))
