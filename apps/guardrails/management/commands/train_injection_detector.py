"""Retrain the learned injection detector from apps/guardrails/detector/data and write its weights."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Fit and calibrate the learned injection detector; writes apps/guardrails/detector/weights.json "
        "and reference.npz."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report the figures without writing weights.")
        parser.add_argument(
            "--dump-scores",
            metavar="PATH",
            help="Also write every C's leave-one-writer-out scores, labels and writers (npz) for analysis.",
        )

    def handle(self, *args, dry_run: bool = False, dump_scores: str | None = None, **options) -> None:
        from apps.guardrails.detector.cache import installed
        from apps.guardrails.detector.model import WEIGHTS_PATH
        from apps.guardrails.detector.training import save, train

        # Embeddings of the examples' views are kept in var/cache between runs (the embedder never changes).
        with installed():
            result = train()
        self.stdout.write(json.dumps(result.report, indent=2))
        if dump_scores:
            import numpy as np

            scored = result.scored
            np.savez(
                dump_scores,
                **{f"c_{c:g}": scores for c, scores in scored.by_c.items()},
                labels=scored.labels,
                customer=scored.customer,
                writer=scored.writer,
            )
        if not dry_run:
            save(result.weights, WEIGHTS_PATH)
            self.stdout.write(f"wrote {WEIGHTS_PATH} and the neighbours' reference beside it")
