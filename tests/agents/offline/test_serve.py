"""The embedding server's own process (`python -m apps.agents.offline.serve`): the model without Django."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from apps.agents.offline import embedder
from apps.agents.offline.model_server import EmbeddingClient

ROOT = Path(__file__).resolve().parents[3]


def test_the_server_module_imports_no_django():
    # given a fresh interpreter with Django's settings in its environment, as in compose
    code = (
        "import sys\nimport apps.agents.offline.serve\nprint(sorted(m for m in sys.modules if m.startswith('django')))"
    )

    # when it imports the server's entry point
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # then nothing of Django was loaded
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_server_process_answers_with_the_models_vectors_and_stops_on_sigterm(tmp_path):
    # given the server started as the devstack starts it, at a socket from the environment
    address = str(tmp_path / "embedder.sock")
    env = {**os.environ, "SWITCHBOARD_EMBEDDING_SERVER": address, "SWITCHBOARD_EMBEDDING_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "apps.agents.offline.serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"embedding server listening at {address}"

        # when a worker asks it for vectors
        texts = ["Do you ship to Norway?", "Thanks!"]
        vectors = EmbeddingClient(address).embed(texts)

        # then they are the model's, as this process computes them
        expected = embedder._model_encode(embedder.get_embedder(), texts, batch_size=64)
        assert np.array_equal(vectors, expected)
    finally:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    assert proc.returncode == 0
