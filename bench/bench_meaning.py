"""How far the embedding match of `understanding.meaning` can be trusted, fitted on the shop's own vocabulary.

Each synonym and category word of `understanding/vocabulary.py` is a phrase a customer uses for known products: its
best product in the demo catalogue (its name, words, category and description: `meaning.item_segments`) is right when
the lists pair it with that product. Printed per similarity threshold: how many phrases reach it, the share whose best
product is right, and the share of the products taken (those within `meaning.TIE` of the best) that are; then how far
below a right best product the first wrong one is (`TIE` stays under its 25th percentile). `--wrong` lists the phrases
whose best product the lists do not pair them with, at `meaning.SIMILARITY`.
No customer case is read. Reads nothing from ../shared.

    python -m config.devstack bench bench/bench_meaning.py
"""

import sys

import django

django.setup()

import numpy as np  # noqa: E402

from apps.agents.offline.embedder import embed  # noqa: E402
from apps.agents.understanding.cues import _similar, product_words  # noqa: E402
from apps.agents.understanding.meaning import SIMILARITY, TIE, item_segments  # noqa: E402
from apps.agents.understanding.order_facts import ItemFacts  # noqa: E402
from apps.agents.understanding.vocabulary import CATEGORY_WORDS, NOUN_SYNONYMS  # noqa: E402
from apps.commerce.demo.catalog import CATALOG  # noqa: E402


def main() -> None:
    items = [ItemFacts(product=p.name, variant="", category=p.category) for p in CATALOG]
    per_item = [item_segments(i, p.description) for i, p in zip(items, CATALOG, strict=True)]
    segments = list(dict.fromkeys(t for texts in per_item for t in texts))
    place = {t: k for k, t in enumerate(segments)}
    phrases: dict[str, set[int]] = {}
    for noun, synonyms in NOUN_SYNONYMS.items():
        meant = {k for k, p in enumerate(CATALOG) if any(_similar(noun, w) for w in product_words(p.name))}
        for synonym in synonyms:
            if meant:
                phrases.setdefault(synonym, set()).update(meant)
    for category, words in CATEGORY_WORDS.items():
        meant = {k for k, p in enumerate(CATALOG) if p.category == category}
        for word in words:
            phrases.setdefault(word, set()).update(meant)
    texts = list(phrases)
    vectors = embed([*texts, *segments])
    by_segment = vectors[: len(texts)] @ vectors[len(texts) :].T
    similarity = np.stack([by_segment[:, [place[t] for t in seg]].max(axis=1) for seg in per_item], axis=1)
    best = similarity.max(axis=1)
    # what `match_by_meaning` takes for a phrase: every product within TIE of its best; right: the share it names
    taken = [np.flatnonzero(similarity[k] >= best[k] - TIE) for k in range(len(texts))]
    share = np.array([np.mean([j in phrases[t] for j in taken[k]]) for k, t in enumerate(texts)])
    right = np.array([int(similarity[k].argmax()) in phrases[t] for k, t in enumerate(texts)])
    print(f"{len(texts)} vocabulary phrases against {len(CATALOG)} catalogue products (TIE {TIE})")
    for threshold in np.arange(0.30, 0.81, 0.02):
        kept = best >= threshold
        if kept.any():
            print(
                f"  >= {threshold:.2f}: {kept.sum():3d} phrases, best product right {right[kept].mean():.3f}, "
                f"products taken right {share[kept].mean():.3f}"
            )
    if "--wrong" in sys.argv:
        for k, t in enumerate(texts):
            if best[k] >= SIMILARITY and not right[k]:
                print(f"    wrong: {t!r} -> {CATALOG[int(similarity[k].argmax())].name} {best[k]:.2f}")
    gaps = []
    for k, text in enumerate(texts):
        order = np.argsort(-similarity[k])
        wrongs = [similarity[k][j] for j in order if j not in phrases[text]]
        if right[k] and wrongs:
            gaps.append(best[k] - wrongs[0])
    print(
        "gap between the best (right) item and the first wrong one: "
        + " ".join(f"p{q}={np.percentile(gaps, q):.3f}" for q in (10, 25, 50, 75, 90))
    )
    # `kinds.kinds_not_bought`: a customer who owns the product a phrase means, told it is none of theirs because the
    # catalogue holds another product nearer the phrase by more than TIE (the rival check), how often?
    rivals = 0
    for k, text in enumerate(texts):
        right_best = max(similarity[k][j] for j in phrases[text])
        wrong_best = max((similarity[k][j] for j in range(len(CATALOG)) if j not in phrases[text]), default=0.0)
        rivals += bool(wrong_best >= SIMILARITY and wrong_best > right_best + TIE)
    print(f"rival check (kinds.py): the product a phrase means outranked by more than TIE: {rivals}/{len(texts)}")


if __name__ == "__main__":
    main()
