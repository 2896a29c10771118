"""The understanding package on its own held-out examples: intent accuracy per specialist, confirmation, router.

Every classifier is trained on `apps/agents/understanding/examples/<name>.yaml`
and scored on `apps/agents/understanding/heldout/<name>.yaml`, a seeded fifth
of the examples drawn before any classifier code was written and never tuned
on. Printed per file: held-out accuracy of the best intent, the share kept
above the calibrated "unclear" threshold and the accuracy of those kept, and
the out-of-fold figures of training. The routing boundary set's held-out fifth
(real support questions, explicit requests for a person, things a shop does not
handle) is scored on the production router classifier: accuracy, and how many
real support questions it refuses as out_of_scope; the issue's quoted customer
messages (never trained on) are routed as a check. Reads nothing from ../shared.
"""

import statistics
import time
from collections import Counter

import django

django.setup()

from apps.agents.routing import get_classifier  # noqa: E402
from apps.agents.routing.router import settle_prediction  # noqa: E402
from apps.agents.understanding.intents import EXAMPLES_DIR, HELDOUT_DIR, load_intent_examples, train_file  # noqa: E402


def _intents() -> None:
    print(f"{'file':14} {'train':>5} {'held':>4} {'acc':>6} {'kept':>6} {'kept_acc':>8} {'oof':>6} {'thr':>6}")
    total = correct = 0
    for path in sorted(EXAMPLES_DIR.glob("*.yaml")):
        if path.stem == "routing":
            continue
        classifier = train_file(path)
        heldout = load_intent_examples(HELDOUT_DIR / path.name).examples
        predictions = classifier.predict([e.text for e in heldout])
        right = [p.best == e.intent for p, e in zip(predictions, heldout, strict=True)]
        kept = [(p, e) for p, e in zip(predictions, heldout, strict=True) if p.intent is not None]
        kept_acc = sum(p.intent == e.intent for p, e in kept) / len(kept) if kept else 0.0
        total += len(heldout)
        correct += sum(right)
        print(
            f"{path.stem:14} {classifier.report.examples:5d} {len(heldout):4d} {sum(right) / len(heldout):6.3f} "
            f"{len(kept) / len(heldout):6.3f} {kept_acc:8.3f} {classifier.report.oof_accuracy:6.3f} "
            f"{classifier.threshold:6.3f}"
        )
        for p, e in zip(predictions, heldout, strict=True):
            if p.best != e.intent:
                print(f"    miss: {e.intent} -> {p.best} ({p.confidence:.2f}) {e.text!r}")
    print(f"all intent files: held-out accuracy {correct / total:.3f} ({correct}/{total})")


# The messages issue 10 quotes from real customers: never trained on, routed as a check.
QUOTED = (
    ("hi my espreso machine came 3 days ago and it leaks water everywere, what do i do??", "returns"),
    ("wheres my backpack?? its been forever", "order"),
    ("what's the status on my skillet refund, you got it a week ago", "returns"),
    ("my card expires this month, will my order still go through?", "billing"),
    ("where is my order?", "order"),
    ("I want to return the jacket from my last order", "returns"),
    ("can I get a refund?", "returns"),
)


def _router() -> None:
    """The production router (settled as route_message settles it) on the boundary set's held-out fifth."""
    router = get_classifier()
    examples = load_intent_examples(HELDOUT_DIR / "routing.yaml").examples
    predictions = [settle_prediction(p) for p in router.predict([e.text for e in examples])]
    right = sum(p.route == e.intent for p, e in zip(predictions, examples, strict=True))
    support = [(p, e) for p, e in zip(predictions, examples, strict=True) if e.intent != "out_of_scope"]
    refused = sum(p.route == "out_of_scope" for p, _ in support)
    oos_said = [(p, e) for p, e in zip(predictions, examples, strict=True) if p.route == "out_of_scope"]
    oos_precision = sum(e.intent == "out_of_scope" for _, e in oos_said) / len(oos_said) if oos_said else 1.0
    print(
        f"router on routing held-out: accuracy {right / len(examples):.3f} ({right}/{len(examples)}), "
        f"support questions refused {refused}/{len(support)}, out_of_scope precision {oos_precision:.3f}"
    )
    confusion = Counter((e.intent, p.route) for p, e in zip(predictions, examples, strict=True) if p.route != e.intent)
    for (want, got), n in confusion.most_common():
        print(f"    {want} -> {got}: {n}")
    quoted = [settle_prediction(p) for p in router.predict([text for text, _ in QUOTED])]
    for (text, want), p in zip(QUOTED, quoted, strict=True):
        print(f"    quoted: {'ok  ' if p.route == want else 'MISS'} {p.route:<12} {p.confidence:.2f} {text!r}")


def _latency() -> None:
    from apps.agents.understanding.confirmation import classify_confirmation
    from apps.agents.understanding.intents import detect_intent

    detect_intent("returns", "warm up")
    classify_confirmation("warm up")
    # Each text once: the classifiers and the embedder remember recent inputs, so a repeated text
    # would time a cache hit, not a prediction (the held-out texts were just embedded above: a suffix makes them new).
    texts = [f"{e.text} thanks" for e in load_intent_examples(HELDOUT_DIR / "returns.yaml").examples]
    samples = []
    for text in texts:
        started = time.perf_counter()
        detect_intent("returns", text)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[int(0.95 * len(samples)) - 1]
    p50 = statistics.median(samples)
    print(f"detect_intent latency ({len(texts)} new texts, embedding included): p50 {p50:.1f} ms, p95 {p95:.1f} ms")


def main() -> None:
    _intents()
    _router()
    _latency()


if __name__ == "__main__":
    main()
