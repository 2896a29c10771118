"""The cues a customer gives instead of an order number, read from one message.

Product names, synonyms and typos ("my espreso machine"), categories ("the shoes"),
colours and sizes ("the yellow one", "the medium hoodie"), recency ("my last order"), ordinals over a
listed choice ("the second one") or over time ("the second order i ever placed") and an order before
or after another ("the one before that", "the order before the earbuds"); dates are `dates.py`'s,
states `states.py`'s, amounts `amounts.py`'s.
`references.resolve_order` combines them against the customer's own orders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from apps.agents.understanding.numbers import spelled_numbers
from apps.agents.understanding.order_facts import ItemFacts, OrderFacts
from apps.agents.understanding.vocabulary import (
    CATEGORY_WORDS,
    EVERYDAY_NOUNS,
    NOUN_SYNONYMS,
    REQUEST_WORDS,
    SIZE_WORDS,
    STOPWORDS,
)

_FUZZY_CUTOFF = 85.0
_WORD_RE = re.compile(r"[a-z0-9][a-z0-9'\-]*")


def text_words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def singular(word: str) -> str:
    """ "shoes" -> "shoe", "boxes" -> "box": good enough to compare a customer's word with a catalogue's."""
    return _singular(word)


def _similar(a: str, b: str) -> bool:
    a, b = _singular(a), _singular(b)
    if a == b:
        return True
    if min(len(a), len(b)) < 4 or max(len(a), len(b)) < 5:  # short words: exact only ("cap" is not "cup")
        return False
    return fuzz.ratio(a, b) >= _FUZZY_CUTOFF


def _compound(word: str, longer: str) -> bool:
    """ "raincoat" holds "coat", "backpack" and "daypack" hold "pack": the product word at one end of a longer word,
    the rest a word of at least three letters ("express" does not hold "press", nor "espresso")."""
    if len(word) < 4 or len(longer) < len(word) + 3:
        return False
    return longer.startswith(word) or longer.endswith(word)


def _phrase_in(phrase: str, text: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text) is not None


@dataclass
class _ItemMatch:
    score: float = 0.0
    cues: list[str] = field(default_factory=list)


_BED_SIZES = frozenset({"queen", "king", "double", "single", "twin", "small", "large", "one size"})


def _variant_parts(variant: str) -> tuple[set[str], set[str]]:
    """(sizes, colours) named in a variant such as "M / Navy", "US 8", "Queen / White", "L/XL"."""
    sizes: set[str] = set()
    colours: set[str] = set()
    for part in re.split(r"\s*/\s*", variant):
        part = part.strip()
        if not part:
            continue
        if re.fullmatch(r"(?:XXS|XS|S|M|L|XL|XXL)", part, re.I) or re.search(r"\d", part) or part.lower() in _BED_SIZES:
            sizes.add(part.lower())
            shoe = re.fullmatch(r"us\s*(\d{1,2}(?:\.5)?)", part.strip(), re.I)
            if shoe:
                sizes.add(shoe.group(1))  # "the size 8 ones" are the US 8
        else:
            colours.update(w for w in text_words(part))
    return sizes, colours


# What follows "size" when it is one: a letter size, a number, or a bed's size ("size set" is not one).
SIZE_PATTERN = r"(?:x{0,3}[sml]|xl|\d{1,2}(?:\.5)?|queen|king|twin|double|single)"


# A size said as a noun names the item of that size: "my size 8s" are the US 8 shoes.
_SIZE_NOUN_RE = re.compile(r"\bsize\s+(?:us\s*)?(\d{1,2}(?:\.5)?)'?s\b")


def sizes_as_nouns(text: str) -> set[str]:
    """The sizes the text uses as nouns ("are my size 8s here yet?" -> {"8"})."""
    return set(_SIZE_NOUN_RE.findall(spelled_numbers(text).lower()))


def _sizes_in(text: str) -> set[str]:
    lowered = spelled_numbers(text).lower()  # "the size nine shoes" are the US 9
    found: set[str] = sizes_as_nouns(text)
    for phrase, token in sorted(SIZE_WORDS.items(), key=lambda kv: -len(kv[0])):
        if _phrase_in(phrase, lowered):
            found.add(token.lower())
            lowered = lowered.replace(phrase, " ")
    for m in re.finditer(rf"\bsize\s+(us\s*)?({SIZE_PATTERN})\b", lowered):
        found.add(("us " if m.group(1) else "") + m.group(2))
        found.add(m.group(2))
    for m in re.finditer(r"\b(queen|king|twin|double|single)(?:[\s-]+size)?\b", lowered):
        found.add(m.group(1))  # "the queen size set", "the king one"
    for m in re.finditer(r"\bus\s*(\d{1,2}(?:\.5)?)\b", lowered):
        found.add(f"us {m.group(1)}")
    return found


# A match this strong names the item itself: its head noun matched, itself (2.0) or through a compound or synonym
# (0.8 of it: "backpack" names the Day Pack); a colour, a size or a category word alone names no item.
HEAD_NOUN_SCORE = 1.6


# Words that end a product's name without being what it is ("Linen Bedding Set" is bedding).
_GENERIC_HEADS = frozenset(("set", "kit", "bundle", "collection", "pair"))


def product_words(product: str) -> list[str]:
    """The words that name a product, its head noun last: sizes and numbers, and what is in brackets ("Merino Crew
    Socks (3-pack)": the socks, not the pack), left out; a generic last word ("set") is not the head."""
    name = re.sub(r"\([^()]*\)", " ", product)
    words = [w for w in text_words(name) if w not in STOPWORDS and not re.fullmatch(r"\d+\w{0,2}", w)]
    if len(words) > 1 and words[-1] in _GENERIC_HEADS:
        words = [words[-1], *words[:-1]]
    return words


# Words that only point at something named ("the yellow rain jacket", "i mean my backpack pls"), and words that say
# which order it is in ("the socks from the hoodie order"): a message of nothing else answers "which one?".
POINTING_WORDS = frozenset(
    (
        *("the", "my", "a", "an", "this", "that", "these", "those", "one", "ones", "our", "your", "it", "its", "it's"),
        *("is", "i", "mean", "ok", "okay", "oh", "um", "uh", "pls", "please", "just", "only", "both", "and", "plus"),
    )
)
ORDER_WORDS = frozenset(
    ("order", "orders", "from", "in", "of", "on", "with", "w", "purchase", "package", "parcel", "containing")
)


def points_only(text: str, noun: str = "item") -> bool:
    """After its product words were made `noun`, the text only points at an item or an order ("the one with the
    item in it", "the item from the item order")."""
    words = text_words(text)
    # a quantity counts with its item: "the one w the 2 shirts and the mug"
    return bool(words) and all(w in POINTING_WORDS or w in ORDER_WORDS or w == noun or w.isdigit() for w in words)


def match_item(text: str, words: list[str], item: ItemFacts) -> _ItemMatch:
    """How strongly the text names this item (0: not at all)."""
    match = _ItemMatch()
    lowered = text.lower()
    content = [w for w in words if w not in STOPWORDS and not w.isdigit()]
    name_words = product_words(item.product)
    head = name_words[-1] if name_words else ""
    for word in name_words:
        weight = 2.0 if word == head else 1.0
        if any(_similar(word, w) for w in content):
            match.score += weight
            match.cues.append(f"item: {word}")
            continue
        compound = next((w for w in content if _compound(word, w)), None)
        if compound:  # "raincoat" names the rain jacket, "backpack" the day pack
            match.score += weight * 0.8
            match.cues.append(f"item: {compound}~{word}")
            continue
        for synonym in NOUN_SYNONYMS.get(word, ()):
            if (" " in synonym and _phrase_in(synonym, lowered)) or (
                " " not in synonym and any(_similar(synonym, w) for w in content)
            ):
                match.score += weight * 0.8
                match.cues.append(f"item: {synonym}~{word}")
                break
    if match.score == 0:
        for phrase in CATEGORY_WORDS.get(item.category, ()):
            if _phrase_in(phrase, lowered) or (" " not in phrase and any(_similar(phrase, w) for w in content)):
                match.score += 1.0
                match.cues.append(f"category: {phrase}")
                break
    sizes, colours = _variant_parts(item.variant)
    named_colours = [c for c in colours if c in content and c not in REQUEST_WORDS]  # "can you check": no colour
    if named_colours:
        match.score += 1.0
        match.cues.append(f"colour: {named_colours[0]}")
    named_sizes = sizes & _sizes_in(text)
    if named_sizes & sizes_as_nouns(text):
        # Said as a noun, the size stands for the item itself ("my size 8s": the US 8 pair).
        match.score += HEAD_NOUN_SCORE
        match.cues.append(f"size as its name: {sorted(named_sizes)[0]}")
    elif named_sizes:
        # A size is as telling as a colour among items of one kind ("the size 8 shoes": the US 8 pair).
        match.score += 0.75
        match.cues.append(f"size: {sorted(named_sizes)[0]}")
    return match


def item_words(text: str, item: ItemFacts) -> set[str]:
    """The words of the text that name this item: its product words (typos, compounds, synonyms) and colours.

    "where's my puffer vest" -> {"puffer", "vest"}; what is left of the message is what it asks about the item.
    """
    content = [w for w in text_words(text) if w not in STOPWORDS and not w.isdigit()]
    lowered = text.lower()
    found: set[str] = set()
    for word in product_words(item.product):
        found.update(w for w in content if _similar(word, w) or _compound(word, w))
        for synonym in NOUN_SYNONYMS.get(word, ()):
            if " " in synonym:
                if _phrase_in(synonym, lowered):
                    found.update(synonym.split())
            else:
                found.update(w for w in content if _similar(synonym, w))
    sizes, colours = _variant_parts(item.variant)
    found.update(c for c in colours if c in content)
    for size in sizes & sizes_as_nouns(text):  # "my size 8s" -> {"size", "8s"}
        found.update(w for w in text_words(text) if w == "size" or re.fullmatch(rf"{re.escape(size)}'?s", w))
    return found


_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
}
_ORDINAL_RE = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)(?: one| order| item)?\b|"
    r"\b(?:number|no\.?|#)\s?([1-5])\b|^\s*([1-5])\s*[.)]?\s*$",
    re.I,
)
LATEST_RE = re.compile(
    r"\b(?:my|the) (?:last|latest|newest|most recent|recent)(?: \w+)? (?:order|purchase|one|delivery|parcel)\b|"
    r"\b(?:last|latest|most recent) (?:order|purchase)\b|\bi (?:just|recently) (?:ordered|bought|placed)\b",
    re.I,
)
# "my last order", "the most recent order i placed": the newest of all their orders, not the newest one holding the
# thing named ("the jacket from my last order" is in that order or in none).
LAST_ORDER_RE = re.compile(r"\b(?:my|the) (?:last|latest|newest|most recent) (?:order|purchase)\b", re.I)
OLDEST_RE = re.compile(r"\b(?:my|the) (?:first|oldest|earliest) (?:order|purchase)\b", re.I)


# "the order before that one", "the shoes i ordered after that", "the one before the hoodie order", "the previous
# one": an order placed just before or after another, the one the conversation is on (`that`) or the one the
# phrase names. Group "dir" is the direction, "obj" what the phrase names ("" for the conversation's order).
_RELATIVE_OBJECT = (
    r"(?:that|this) (?:one|order)|the (?:[a-z0-9'$.-]+ ){1,3}(?:one|order)|my (?:[a-z0-9'$.-]+ ){0,2}(?:one|order)"
    r"|(?:the|my) [a-z0-9'-]+(?: [a-z0-9'-]+){0,2}"
)
_PHRASE_END = r"(?=\s*(?:[?.!,;]|\s-\s|$|\b(?:and|but|so|pls|please|then|was|is|did|does)\b))"
_RELATIVE_ORDER_RE = re.compile(
    rf"\b(?P<dir>before|after|prior to|earlier than|later than)\s+(?P<obj>{_RELATIVE_OBJECT}){_PHRASE_END}"
    rf"|\b(?:ordered|bought|placed|purchased|got)\s+(?:(?:it|them)\s+)?(?P<verb>before|after)\s+(?:that|this){_PHRASE_END}"
    r"|\b(?:the|my) (?P<adj>previous|prior|next) (?:one|order|purchase)\b"
    rf"|\b(?:the|my) (?:one|order) (?P<tail>before|after){_PHRASE_END}",
    re.IGNORECASE,
)
_EARLIER_WORDS = frozenset({"before", "prior to", "earlier than", "previous", "prior"})


@dataclass(frozen=True)
class RelativeOrder:
    earlier: bool  # the order placed before the anchor (else after it)
    anchor_text: str  # what the phrase names as the anchor ("the hoodie one"); "" for the conversation's order
    span: tuple[int, int]  # where the phrase is in the text


def relative_order(text: str) -> RelativeOrder | None:
    """The "before / after that one" cue of the text, or None."""
    m = next((m for m in _RELATIVE_ORDER_RE.finditer(text) if _names_an_order(m.group("obj") or "that one")), None)
    if m is None:
        return None
    direction = (m.group("dir") or m.group("verb") or m.group("adj") or m.group("tail") or "").lower()
    obj = (m.group("obj") or "").strip()
    anchor_text = "" if not obj or re.fullmatch(r"(?:that|this) (?:one|order)", obj, re.I) else obj
    return RelativeOrder(earlier=direction in _EARLIER_WORDS, anchor_text=anchor_text, span=m.span())


def _names_an_order(obj: str) -> bool:
    """ "that one", "the hoodie order", "the trail runners": an order; "the weekend", "my trip": not one."""
    return bool(re.search(r"\b(?:one|order)$", obj, re.I)) or names_a_product(text_words(obj))


# "the stuff i got recently, not the old shoes", "everything except the mug", "apart from the hoodie": what the customer
# says they do not mean. Group "what" is the thing left out.
_NEGATED_RE = re.compile(
    r"(?:^|[,;:(-]\s*|\b(?:but|and)\s+|\s)(?:not|except(?: for)?|other than|apart from|besides|excluding|minus)\s+"
    r"(?P<what>(?:the|my|that|those|these)\s+[a-z0-9' -]+?)(?=\s*(?:[.!?,;)]|$|\b(?:but|and|pls|please|thanks)\b))",
    re.IGNORECASE,
)


def negated_phrase(text: str) -> tuple[str, tuple[int, int]] | None:
    """What the text says it does not mean ("not the old shoes" -> "the old shoes") and where that is, or None."""
    m = _NEGATED_RE.search(text)
    if m is None:
        return None
    return m.group("what"), m.span()


# "the second order i ever placed", "my third order": counted from the oldest; "the second most recent one" from the
# newest. An ordinal without "ever" / "i placed" / "my" ("the second one") answers a list we showed instead.
_CHRONO_INDEX = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3}
_CHRONO_WORD = r"(first|1st|second|2nd|third|3rd|fourth|4th)"
_FROM_OLDEST_RE = re.compile(
    rf"\b{_CHRONO_WORD} (?:order|purchase|one|thing|item)s? (?:that )?(?:i|we) (?:have |had |'ve )?(?:ever )?"
    r"(?:placed|made|ordered|did|bought|put in)\b|"
    rf"\bmy {_CHRONO_WORD} (?:ever )?(?:order|purchase)\b|\b{_CHRONO_WORD} (?:ever )?(?:order|purchase) (?:i )?ever\b",
    re.I,
)
_FROM_NEWEST_RE = re.compile(
    rf"\b{_CHRONO_WORD} (?:most recent|to last|latest|newest|last)(?: (?:order|purchase|one))?\b"
    r"|\b(?P<next>next[ -]to[ -]last|penultimate)\b",
    re.I,
)


def chronological_index(text: str) -> int | None:
    """The place of the order the text counts to: 0, 1, ... from the oldest, -1, -2, ... from the newest."""
    m = _FROM_OLDEST_RE.search(text)
    if m:
        return _CHRONO_INDEX[next(g for g in m.groups() if g).lower()]
    m = _FROM_NEWEST_RE.search(text)
    if m:
        return -2 if m.group("next") else -1 - _CHRONO_INDEX[m.group(1).lower()]
    return None


def _product_nouns() -> frozenset[str]:
    vocabulary = set(NOUN_SYNONYMS)
    for synonyms in NOUN_SYNONYMS.values():
        vocabulary.update(s for s in synonyms if " " not in s)
    return frozenset(vocabulary - EVERYDAY_NOUNS)


_PRODUCT_NOUNS = _product_nouns()
_PRODUCT_PHRASES = frozenset(s for synonyms in NOUN_SYNONYMS.values() for s in synonyms if " " in s)


@lru_cache(maxsize=8192)
def _product_noun(word: str) -> bool:
    """Whether `word` (lower case) is one of the shop's product nouns or a near spelling of one. Kept per word: the
    fuzzy scan over the vocabulary was most of the planner's CPU, for the same everyday words turn after turn."""
    return word in _PRODUCT_NOUNS or any(_similar(word, noun) for noun in _PRODUCT_NOUNS)


def names_a_product(words: list[str]) -> bool:
    """Whether the words name a kind of product the shop sells (a noun of its vocabulary, not an everyday word, or a
    phrase of it: "french press" although "press" alone is everyday)."""
    content = [w for w in words if w not in STOPWORDS and w not in EVERYDAY_NOUNS]
    if any(_product_noun(w) for w in content):
        return True
    joined = " ".join(words)
    return any(_phrase_in(phrase, joined) for phrase in _PRODUCT_PHRASES)


def without_products(text: str, noun: str = "item") -> str:
    """The text with the shop's product nouns ("vest", "espreso machine"'s "espreso") replaced by `noun`: what it asks,
    whatever product it names."""
    stop = STOPWORDS | EVERYDAY_NOUNS

    def neutral(m: re.Match[str]) -> str:
        word = m.group(0).lower()
        if word in stop or not _product_noun(word):
            return m.group(0)
        return noun

    out = _WORD_RE.sub(neutral, text)
    return re.sub(rf"\b{noun}(?:\s+{noun})+\b", noun, out)


def ordinal_pick(text: str, listed: list[OrderFacts]) -> OrderFacts | None:
    if not listed:
        return None
    m = _ORDINAL_RE.search(text)
    if m is None:
        return None
    if m.group(1):
        word = m.group(1).lower()
        index = -1 if word == "last" else _ORDINALS[word]
    else:
        index = int(m.group(2) or m.group(3)) - 1
    if -len(listed) <= index < len(listed):
        return listed[index]
    return None
