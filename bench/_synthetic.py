"""Deterministic shop-support text for benchmarks: many distinct, realistic sentences."""

from __future__ import annotations

import random

PRODUCTS = [
    "wool sweater",
    "linen shirt",
    "waxed canvas tote",
    "leather boots",
    "ceramic mug",
    "rain jacket",
    "cotton hoodie",
    "denim jeans",
    "hiking socks",
    "travel backpack",
    "silk scarf",
    "down vest",
    "running shoes",
    "beach towel",
    "cashmere beanie",
    "stoneware bowl",
    "oak cutting board",
    "picnic blanket",
    "merino base layer",
    "canvas sneakers",
    "leather wallet",
    "sun hat",
    "yoga mat",
    "water bottle",
]
TOPICS = {
    "shipping": [
        "ships within one business day from our coastal warehouse",
        "can be sent by express courier for delivery in one to two days",
        "qualifies for free standard shipping above the order threshold",
        "is packed in recycled cardboard without plastic filler",
        "ships separately when it comes from our second warehouse",
    ],
    "returns": [
        "can be returned unworn with tags within the return window",
        "is final sale when bought in the clearance event and cannot be returned",
        "returns are refunded to the original payment method after inspection",
        "can be exchanged for another size if the variant is in stock",
        "needs its original box when it is sent back",
    ],
    "care": [
        "should be washed cold and dried flat to keep its shape",
        "needs re-waxing once a year to stay water resistant",
        "is dishwasher safe but not microwave safe",
        "should be conditioned twice a year and kept away from heat",
        "may fade slightly in strong sunlight over time",
    ],
    "sizing": [
        "runs half a size large so most customers size down",
        "fits true to size with a relaxed cut through the body",
        "comes in extended sizes from XS to 3XL",
        "has a long torso length suited to tall customers",
        "shrinks about three percent after the first warm wash",
    ],
    "warranty": [
        "is covered against manufacturing defects by the shop warranty",
        "has a lifetime repair service for broken stitching",
        "warranty claims need photos of the fault and the order number",
        "zips and buckles are replaced free of charge under warranty",
        "is not covered for accidental damage or normal wear",
    ],
}
OPENERS = ["", "Good to know: ", "Please note that ", "Customers often ask whether ", "In short, "]
COLOURS = ["navy", "sand", "forest green", "charcoal", "rust", "ivory", "slate blue", "mustard"]


def sentences(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        topic = rng.choice(list(TOPICS))
        text = (
            f"{rng.choice(OPENERS)}the {rng.choice(COLOURS)} {rng.choice(PRODUCTS)} "
            f"{rng.choice(TOPICS[topic])}. {rng.choice(TOPICS[rng.choice(list(TOPICS))]).capitalize()} as well."
        )
        text = text[0].upper() + text[1:]
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def questions(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    forms = [
        "how do I wash my {p}?",
        "can I return the {p} I bought in the sale?",
        "does the {p} run small?",
        "when will my {p} ship?",
        "is the {p} covered by warranty?",
        "can I exchange the {p} for a bigger size?",
        "is there free shipping on a {p}?",
        "what if my {p} arrives broken?",
    ]
    return [rng.choice(forms).format(p=rng.choice(PRODUCTS)) for _ in range(n)]


def markdown_documents(n_docs: int, sections: int = 8, seed: int = 5) -> list[tuple[str, str]]:
    pool = sentences(n_docs * sections * 3, seed=seed)
    docs = []
    for d in range(n_docs):
        parts = [f"# Product guide {d}\n"]
        for s in range(sections):
            body = " ".join(pool[(d * sections + s) * 3 : (d * sections + s) * 3 + 3])
            parts.append(f"## Section {s}: {list(TOPICS)[s % len(TOPICS)]}\n\n{body}\n")
        docs.append((f"bench/guide-{d}.md", "\n".join(parts)))
    return docs
