"""Split a message that asks several things into steps, each with its route, intent and order references.

"Where is TW-100003, and can you email me the invoice for TW-100004?" is two
steps: (order, track, TW-100003) then (billing, send_invoice, TW-100004). The
plan is the first half of plan-and-execute: the turn runs each step's
specialist and composes one answer.

A message is cut at sentence ends and at a conjunction that starts a new
request ("..., and can you", "... and also", "... then cancel"); a noun list
("the hoodie and the socks") is never cut. A piece that carries no request of
its own ("hi", "thanks!", "it's urgent") joins its neighbour, and neighbouring
pieces asking the same thing of the same order are one step. The route comes
from the router's classifier and the intent from the specialist's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from apps.agents.offline.slots import extract_order_numbers
from apps.agents.understanding.cues import names_a_product, points_only, text_words, without_products
from apps.agents.understanding.intents import SPECIALISTS, get_intent_classifier
from apps.agents.understanding.local_intents import POLICY_INTENTS
from apps.agents.understanding.splitter import SplitClassifier, get_splitter, split_at

# Intents that change something (a write, held for the customer's yes, or a request sent to review).
WRITE_INTENTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("order", "cancel"),
        ("order", "change_address"),
        ("returns", "start_return"),
        ("returns", "refund_request"),
        ("billing", "send_invoice"),
    }
)
MAX_STEPS = 4
# A piece whose best route is this unsure carries no request of its own.
_MIN_ROUTE_CONFIDENCE = 0.5
# A piece that asks nothing ("its been 10 days") is a request of its own only when its route is this sure.
_SURE_STATEMENT = 0.7

_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE_STARTERS = (
    r"can|could|would|will|please|pls|plz|i|i'd|i'm|i'll|id|im|also|what|where|when|how|why|is|are|do|does|did|"
    r"what'?s|where'?s|when'?s|how'?s|wat|wats|wheres|whens|hows|"
    r"send|email|e-mail|cancel|change|return|refund|tell|show|give|check|track|update|let|resend|forward|list|"
    r"remove|explain|start|help"
)
_CONJUNCTION_RE = re.compile(
    rf"(?:,\s*|\s+)(?:and also|and then|and|also|plus|then|as well as)\s+(?=(?:{_CLAUSE_STARTERS})\b)"
    rf"|,\s+(?=(?:(?:can|could|would|will) you|please|also)\b)",
    re.IGNORECASE,
)
_FILLER = (
    r"(?:hi|hello|hey|good (?:morning|afternoon|evening)|thanks?(?: you)?(?: so much)?|thx|ty|cheers|please|pls|"
    r"ok|okay|great|urgent|asap|it'?s urgent|that'?s all|regards|best)"
)
# "ok thanks.", "hi there", "great, thank you!": fillers in a row ask for nothing.
_NO_REQUEST_RE = re.compile(
    rf"^\W*{_FILLER}(?:\W+{_FILLER})*\W*(?:there|team|guys|all)?\W*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Step:
    text: str
    route: str
    route_confidence: float
    intent: str | None  # None: the specialist's classifier is unsure (or the route has none)
    intent_confidence: float
    order_numbers: tuple[str, ...] = ()
    asks_for_person: bool = False  # the piece (or a clause of it) asks for a person (`routing.person`)

    @property
    def is_write(self) -> bool:
        return (self.route, self.intent or "") in WRITE_INTENTS

    def describe(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "route": self.route,
            "route_confidence": self.route_confidence,
            "intent": self.intent,
            "intent_confidence": self.intent_confidence,
            "orders": list(self.order_numbers),
            "write": self.is_write,
            "asks_for_person": self.asks_for_person,
        }


@dataclass(frozen=True)
class Plan:
    text: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def is_multi(self) -> bool:
        return len(self.steps) > 1

    @property
    def writes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.is_write)

    def describe(self) -> list[dict[str, Any]]:
        """The plan as the trace records it."""
        return [s.describe() for s in self.steps]


# "can u" of "can u also give me the invoice": a modal and its pronoun alone are the start of the next request.
_MODAL_ONLY_RE = re.compile(
    r"^(?:(?:and|so|oh|also)\s+)?(?:can|could|would|will|pls|please)\s+(?:u|you|ya|ye|i|we)(?:\s+(?:please|pls|plz))?$",
    re.IGNORECASE,
)


_LEADING_CONJUNCTION_RE = re.compile(r"^(?:and also|and then|and|also|plus|then|but|so|n|&)\s+(?=\S)", re.IGNORECASE)


def regex_pieces(text: str) -> list[str]:
    """The message cut at sentence ends and at cue-word conjunctions (`_CONJUNCTION_RE`): the splitter before the
    learned one, kept for `bench/bench_splitter.py` to compare against."""
    pieces: list[str] = []
    for sentence in _SENTENCE_RE.split(text.strip()):
        start = 0
        for m in _CONJUNCTION_RE.finditer(sentence):
            pieces.append(sentence[start : m.start()])
            start = m.end()
        pieces.append(sentence[start:])
    return _cleaned(pieces)


_splitter_override: list[SplitClassifier] = []


def use_splitter(classifier: SplitClassifier | None) -> None:
    """Split with `classifier` instead of the process-wide one (a bench scoring a freshly trained splitter)."""
    _splitter_override[:] = [classifier] if classifier is not None else []


def learned_pieces(text: str) -> list[str]:
    """The message cut where the learned splitter reads a new request starting (`splitter.py`)."""
    stripped = text.strip()
    if len(stripped.split()) < 2:
        return _cleaned([stripped])
    classifier = _splitter_override[0] if _splitter_override else get_splitter()
    return _cleaned(split_at(stripped, classifier.split_points(stripped)))


def learned_or_regex_pieces(text: str) -> list[str]:
    """The learned pieces, each cut again where the regex would (for the bench: does the regex add anything?)."""
    return [q for p in learned_pieces(text) for q in regex_pieces(p)]


def regex_then_learned_pieces(text: str) -> list[str]:
    """The regex's pieces, each cut again where the learned splitter reads a new request starting."""
    return [q for p in regex_pieces(text) for q in learned_pieces(p)]


def split_pieces(text: str) -> list[str]:
    """The message's pieces, each a request of its own or context the planner joins to one (nothing but a leading
    conjunction is dropped): the regex's pieces, each cut again where the learned splitter reads a new request
    starting ("wheres my backpack did the earbuds ship", "cancel the blanket one and whats holding up ...").

    The learned splitter alone is the better splitter on its held-out messages (`bench/bench_splitter.py`: plan 57/70
    against 55/70 this way, 49/70 the regex alone), but the planner's joining rules and the intents of whole
    messages were tuned on the regex's pieces: where the learned splitter keeps a sentence with its context
    ("could u email me the receipt for the headphones? work pays me back for them"), the whole message's intent is
    unclear where the request's sentence alone is not. Until the intents read such a message whole, the regex's
    cuts stay and the learned splitter adds the ones it has no cue word for."""
    return regex_then_learned_pieces(text)


def _cleaned(pieces: list[str]) -> list[str]:
    # "? and how long is the warranty...": a sentence that opens with a conjunction is a request of its own
    cleaned = [_LEADING_CONJUNCTION_RE.sub("", p.strip(" ,")) for p in pieces if p and p.strip(" ,")]
    cleaned = [p for p in cleaned if p]
    joined: list[str] = []
    for piece in cleaned:
        if joined and _MODAL_ONLY_RE.match(joined[-1]):
            joined[-1] = f"{joined[-1]} {piece}"
        else:
            joined.append(piece)
    return joined


# Each piece's (route, confidence), or (route, confidence, asks_for_person).
RouteFn = Callable[[Sequence[str]], list[tuple[Any, ...]]]


def route_pieces(pieces: Sequence[str], *, conversation: Any = None) -> list[tuple[Any, ...]]:
    """Each piece's route as the router would decide it alone (`settle_predictions`: refuse only what is clear, and
    a clause that surely asks for a person makes its piece `human`; with the conversation, a piece naming the
    session's own item is read as the router reads it, `own_item_verdicts`)."""
    from apps.agents.routing.classifier import get_classifier
    from apps.agents.routing.person import CONTACT_ROUTE, PERSON_CLAUSE_CONFIDENCE, reaches_help_center
    from apps.agents.routing.router import own_item_verdicts, settle_predictions

    texts = list(pieces)
    raw = get_classifier().predict(texts)
    settled = own_item_verdicts(texts, raw, settle_predictions(texts, raw), conversation)
    routed: list[tuple[Any, ...]] = []
    for text, s in zip(texts, settled, strict=True):
        asks_for_person = s.route == "human" and s.confidence >= PERSON_CLAUSE_CONFIDENCE and _asks_for_person(s)
        if not asks_for_person and reaches_help_center(s.route, text):
            # "..., and whats your support email": the help center answers it, as the turn does for a whole
            # message (`person.help_center_or_person`); a person is not what the piece asks for
            routed.append((CONTACT_ROUTE, s.confidence, False))
        else:
            routed.append((s.route, s.confidence, asks_for_person))
    return routed


def _asks_for_person(prediction: Any) -> bool:
    """A `human` verdict that asks for a person (a clause the router's person check flipped, or a piece nearer
    the person-request examples than the complaints), not a complaint."""
    return prediction.asks_for_person or prediction.reason.startswith("asks for a person")


def plan_message(text: str, *, route: RouteFn | None = None, split: Callable[[str], list[str]] | None = None) -> Plan:
    """The steps of one customer message (one step when it asks one thing)."""
    pieces = (split or split_pieces)(text)
    if not pieces:
        return Plan(text=text)
    routed = (route or route_pieces)(pieces)
    drafts: list[dict[str, Any]] = []
    for piece, routing in zip(pieces, routed, strict=True):
        piece_route, confidence = routing[0], routing[1]
        numbers = tuple(extract_order_numbers(piece))
        carries_request = (
            not _NO_REQUEST_RE.match(piece)
            and (confidence >= _MIN_ROUTE_CONFIDENCE or numbers)
            and not (drafts and piece_route == "faq" and not _asks_something(piece))
            # "..., the one w the 2 shirts and the mug": which order the piece before means, not a request
            and not (drafts and points_only(without_products(piece)))
            # "WHERE IS MY REFUND ... ITS BEEN 10 DAYS": a statement no route is sure of is context of the piece before
            and not (drafts and not numbers and not _asks_something(piece) and confidence < _SURE_STATEMENT)
        )
        if drafts and not carries_request:
            drafts[-1]["text"] += " " + piece
            continue
        drafts.append(
            {
                "text": piece,
                "route": piece_route,
                "confidence": confidence,
                "numbers": numbers,
                "request": bool(carries_request),
                "person": len(routing) > 2 and bool(routing[2]),
            }
        )
    # A leading piece with no request ("Hi there") joins the first real one.
    if len(drafts) > 1 and not drafts[0]["request"]:
        first = drafts.pop(0)
        drafts[0]["text"] = first["text"] + " " + drafts[0]["text"]

    steps: list[Step] = []
    for draft in drafts:
        intent, intent_confidence = _intent(draft["route"], draft["text"])
        step = Step(
            text=draft["text"],
            route=draft["route"],
            route_confidence=round(float(draft["confidence"]), 4),
            intent=intent,
            intent_confidence=intent_confidence,
            order_numbers=draft["numbers"],
            asks_for_person=draft["person"],
        )
        previous = steps[-1] if steps else None
        if previous and _asks_more_of_the_shop(previous, step):
            # "do you ship to australia and how long does it take": the help center answers both of one topic.
            steps[-1] = replace(previous, text=f"{previous.text} {step.text}")
        elif previous and _acts_on_previous(previous, step):
            # "I need the invoice for my kettle. Could you email it to me?": one request, the write on what was named.
            steps[-1] = Step(
                text=f"{previous.text} {step.text}",
                route=previous.route,
                route_confidence=max(previous.route_confidence, step.route_confidence),
                intent=_WRITE_ON_READ[(previous.route, previous.intent or "")],
                intent_confidence=step.intent_confidence,
                order_numbers=previous.order_numbers,
            )
        elif previous and _context_of(previous, step):
            # "my partner got me the same hoodie so i dont need mine. can i send it back?": what happened,
            # then the request about it: one request, the second piece's, read whole
            steps[-1] = replace(step, text=f"{previous.text} {step.text}", asks_for_person=previous.asks_for_person)
        elif previous and _same_request(previous, step):
            steps[-1] = Step(
                text=f"{previous.text} {step.text}",
                route=previous.route,
                route_confidence=max(previous.route_confidence, step.route_confidence),
                intent=previous.intent or step.intent,
                intent_confidence=max(previous.intent_confidence, step.intent_confidence),
                order_numbers=previous.order_numbers or step.order_numbers,
                asks_for_person=previous.asks_for_person or step.asks_for_person,
            )
        else:
            steps.append(step)
    if len(steps) > MAX_STEPS:
        # More than a handful of requests is not a plan to run in one turn: keep it whole.
        whole = (route or route_pieces)([text])[0]
        intent, intent_confidence = _intent(whole[0], text)
        numbers = tuple(extract_order_numbers(text))
        person = any(s.asks_for_person for s in steps)
        steps = [Step(text, whole[0], round(whole[1], 4), intent, intent_confidence, numbers, person)]
    return Plan(text=text, steps=tuple(steps))


# The help center answers questions: a piece it would take that neither asks nor requests anything ("keeping the
# hoodie", "it's for my mum") is context for the request beside it, not a step of its own.
_ASKS_RE = re.compile(
    rf"\?\s*$|^\W*(?!(?:i|i'd|i'm|i'll|id|im)\b)(?:{_CLAUSE_STARTERS}|tell|show|explain|give)\b", re.I
)


def _asks_something(piece: str) -> bool:
    return bool(_ASKS_RE.search(piece.strip()))


def _intent(route: str, text: str) -> tuple[str | None, float]:
    if route not in SPECIALISTS:
        return None, 0.0
    prediction = get_intent_classifier(route).predict_one(text)
    return prediction.intent, prediction.confidence


def _asks_more_of_the_shop(a: Step, b: Step) -> bool:
    """`b` asks more about the shop question `a` asked, pointing back at it ("..., and how long does it take", "is it
    free over 50 dollars?") with no order of its own: one help-center question, whatever route its words alone get."""
    if a.route != "faq" or b.order_numbers or b.is_write:
        return False
    return bool(_POINTS_BACK_RE.search(b.text)) and _asks_something(b.text)


# A read, then the write that acts on what it named: "i need the invoice for my kettle. could you email it to me?"
_WRITE_ON_READ: dict[tuple[str, str], str] = {("billing", "list_invoices"): "send_invoice"}
_POINTS_BACK_RE = re.compile(r"\b(?:it|them|that|this|those|mine)\b", re.IGNORECASE)


def _acts_on_previous(a: Step, b: Step) -> bool:
    """`b` asks for the write that acts on what `a` named, pointing back at it ("it") and naming no order of its own.

    `b` may be routed elsewhere on its own ("Could you email it to me?" names no topic); its intent is read as the
    earlier piece's specialist would read it."""
    write = _WRITE_ON_READ.get((a.route, a.intent or ""))
    if write is None or b.order_numbers or not _POINTS_BACK_RE.search(b.text):
        return False
    intent = b.intent if b.route == a.route else _intent(a.route, b.text)[0]
    return intent == write


# Intents that are one request about an item when they come together: "can i return the other mug from
# TW-100016? it's chipped too" is a return with its reason, not a return and a second request.
_ONE_RETURN = frozenset({"start_return", "damaged_item", "eligibility", "refund_request"})
_RETURN_REQUESTS = frozenset({*_ONE_RETURN, "exchange", None})


def _same_request(a: Step, b: Step) -> bool:
    if (
        a.route == b.route == "returns"
        and {a.intent, b.intent} <= _ONE_RETURN
        and "damaged_item" in (a.intent, b.intent)
    ):
        return not (a.order_numbers and b.order_numbers and a.order_numbers != b.order_numbers)
    if a.route == b.route == "returns" and {a.intent, b.intent} <= _RETURN_REQUESTS and not (_asks_policy(a)):
        # "could i exchange the bedding set for the wool throw? the sheets just aren't working for me": a piece that
        # asks nothing, only says how the item is, is the reason of the request beside it
        said = a if not _asks_something(a.text) else b if not _asks_something(b.text) else None
        if said is not None and said.intent in (None, "damaged_item") and not said.order_numbers:
            return True
    if a.route == b.route == "returns" and b.intent in _ONE_RETURN and refers_back(a, b) and not _asks_policy(a):
        # "i put the hoodie in the dryer and now it's tiny. can i still return it?": what happened, then the request
        # about "it": one request, read whole (what happened decides whether it can go back at all)
        return True
    if a.route != b.route or (a.intent and b.intent and a.intent != b.intent):
        return False
    if _asks_policy(a) != _asks_policy(b):
        # A question about the shop's policy and a request about an order ("what's your return policy, and can i
        # return the tote from TW-100006?") are two requests, unless the other piece asks nothing of its own.
        other = b if _asks_policy(a) else a
        if other.intent or other.order_numbers:
            return False
    return not (a.order_numbers and b.order_numbers and a.order_numbers != b.order_numbers)


def _context_of(a: Step, b: Step) -> bool:
    """`a` only says something (asks nothing, names no order number, holds no write) and `b` is a request about it
    ("mine", "it"): `a` is the context of `b`, whatever route its words alone get."""
    return not _asks_something(a.text) and not a.order_numbers and not a.is_write and refers_back(a, b)


def _asks_policy(step: Step) -> bool:
    return (step.route, step.intent or "") in POLICY_INTENTS


def refers_back(previous: Step, step: Step) -> bool:
    """`step` acts on what the step before it named, pointing back at it ("my rain jacket hasnt shipped yet right? can
    you send it to my new place instead, ..."): it says "it"/"them" and names no order or product of its own. Its
    specialist then reads the step before as said just before it (what that names is resolved against the customer's
    orders there: the planner does not know them)."""
    return bool(
        previous.text
        and not step.order_numbers
        and _POINTS_BACK_RE.search(step.text)
        and not names_a_product(text_words(step.text))
    )
