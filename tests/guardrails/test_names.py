"""The name recogniser's word lists: loading them must not weigh on processes that never mask names."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings


def test_importing_the_turn_worker_does_not_import_spacy():
    # given a fresh interpreter with the project's settings (a test process has spaCy loaded already)
    code = (
        "import sys, django; django.setup(); "
        "import apps.agents.turn_worker, apps.conversations.operator_view; "
        "print('spacy' in sys.modules)"
    )

    # when it imports the turn worker and what renders operator views
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    # then spaCy (about 5 s and 250 MiB to import) is not loaded until a name is looked for
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_stop_words_are_spacys_and_count_as_english_words():
    # given the lazily loaded stop words
    from apps.guardrails.names import is_common_word, is_first_name, stop_words

    # when / then they hold spaCy's list, and a stop word is neither a first name nor a name-like word
    assert {"the", "would", "whereas"} <= stop_words()
    assert is_common_word("whereas") is True
    assert is_first_name("Will") is False
