"""Order-reference cases: which of their own orders a customer means, scored on the specialists' real decision.

The cases live in `apps/agents/understanding/reference_cases/{tuning,heldout}.yaml`, written by someone who never
read the resolver, and a second batch in `{tuning2,heldout2}.yaml`. Each names a demo customer (`alice`, `bob`,
`carmen`; or a verified guest), the message (and any earlier customer messages of the conversation), the action the
customer wants, and what should happen:

    - customer: alice
      say: "can you cancel the one with the mug"
      action: cancel         # track | cancel | return | invoice | change | any
      expect: one            # one | ask | none
      orders: [TW-100001]    # one: the order; ask: the candidates the question should list; none: []
      items: [Stoneware Mug] # one: the items the message names (optional)

(`earlier: [...]` adds earlier customer messages, oldest first; `guest: {order: ...}` plays a verified guest.)

A case is played as the specialist plays the turn: the specialist's own tool lists the customer's orders from the
database (`list_orders`, `list_returnable_orders`, or billing's `list_invoices`), and
`understanding.choice.choose_order` decides, with the tiers the specialist gives that action (`track`, `cancel`,
`change` (the address) and `any` (the details of an order) as the order specialist; `return` as the returns
specialist; `invoice` over the invoices, without tiers). `one` is right when
the order (and, when the case lists them, the items) match; `ask` when the question lists exactly the expected
candidates (`ask_kind_right` counts a question of any candidates); `none` when nothing of theirs is said to fit.

Only the tuning portion is tuned against; the held-out portion is measured at the start and the end of a change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

import apps.agents.understanding as understanding
from apps.agents.understanding.choice import OrderChoice, Tier, choose_order, state_tiers
from apps.agents.understanding.references import ResolutionKind

CASES_DIR = Path(understanding.__file__).parent / "reference_cases"
# `tuning` / `heldout`: written blind by `writerref`; `tuning2` / `heldout2`: a second batch of new phrasings (amounts
# in words, colours and sizes by other names, ranks, products never bought), written by `ref10k` before its change.
PORTIONS = ("tuning", "heldout", "tuning2", "heldout2")
TUNING_PORTIONS = frozenset(("tuning", "tuning2"))
EXPECT_KINDS = ("one", "ask", "none")

# The order specialist's states per action, most preferred first (`specialists/order/local.py`, each intent's
# `_pick(prefer=...)`), and the returns specialist's one tier: the orders that can still be returned.
_ORDER_TIERS: dict[str, tuple[str, ...]] = {
    "track": ("shipped", "processing", "pending"),
    "details": ("pending", "processing", "shipped"),
    "cancel": ("pending",),
    "change_address": ("pending", "processing"),
    "modify": ("pending", "processing", "shipped"),
}
_RETURNS_ACTIONS = frozenset(("return", "refund", "exchange"))
_STATUS_ACTIONS = frozenset(("refund_status", "return_status"))
_BILLING_ACTIONS = frozenset(("invoice", "payment_failed", "charges", "payment", "refund_method"))
# Words a case writer may use for an action, in the resolver's names.
_ACTION_ALIASES = {
    "where": "track",
    "status": "track",
    "tracking": "track",
    "order_status": "track",
    "detail": "details",
    "info": "details",
    "order_details": "details",
    "any": "details",
    "address": "change_address",
    "change_shipping_address": "change_address",
    "change": "change_address",
    "modify_items": "modify",
    "start_return": "return",
    "returns": "return",
    "refund_request": "refund",
    "swap": "exchange",
    "send_invoice": "invoice",
    "invoice_copy": "invoice",
    "receipt": "invoice",
    "failed_payment": "payment_failed",
    "charges_explained": "charges",
}


@dataclass(frozen=True)
class ReferenceCase:
    portion: str
    index: int
    message: str
    action: str
    expect: str
    customer: str = ""  # a demo customer's username ("" for a guest)
    guest_order: str = ""  # a verified guest's order number
    earlier: tuple[str, ...] = ()  # earlier customer messages, oldest first
    orders: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.portion}#{self.index}"


@dataclass(frozen=True)
class CaseResult:
    case: ReferenceCase
    got: str  # one / ask / none
    orders: tuple[str, ...]
    items: tuple[str, ...]
    right: bool
    kind_right: bool
    items_right: bool | None  # None: the case names no items, or no order was picked
    cues: tuple[str, ...] = ()

    def line(self) -> str:
        want = f"{self.case.expect} {','.join(self.case.orders)}"
        got = f"{self.got} {','.join(self.orders)}"
        items = f" items {list(self.items)} want {list(self.case.items)}" if self.items_right is False else ""
        return (
            f"{self.case.name} [{self.case.customer or 'guest'} {self.case.action}] {self.case.message!r}"
            f"{' after ' + repr(list(self.case.earlier)) if self.case.earlier else ''}: want {want}, got {got}"
            f"{items} (cues: {', '.join(self.cues) or '-'})"
        )


class CaseError(ValueError):
    """A malformed case: names its file and entry."""


def load_cases(portions: Iterable[str] = PORTIONS, directory: Path = CASES_DIR) -> list[ReferenceCase]:
    cases: list[ReferenceCase] = []
    for portion in portions:
        path = directory / f"{portion}.yaml"
        if not path.exists():
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if isinstance(raw, dict):
            raw = raw.get("cases") or []
        for index, entry in enumerate(raw, start=1):
            cases.append(_case(portion, index, entry, path))
    return cases


def _listed(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _case(portion: str, index: int, entry: Any, path: Path) -> ReferenceCase:
    if not isinstance(entry, dict):
        raise CaseError(f"{path.name} case {index}: not a mapping")
    message = entry.get("message") or entry.get("text") or entry.get("say")
    expect = str(entry.get("expect") or "").strip().lower()
    if not message or expect not in EXPECT_KINDS:
        raise CaseError(f"{path.name} case {index}: needs a message and expect one of {EXPECT_KINDS}")
    customer = entry.get("customer") or ""
    guest: dict[str, Any] = entry.get("guest") or {}
    if isinstance(customer, dict):  # customer: {guest: {order, email}}
        guest = customer.get("guest") or customer
        customer = ""
    earlier = entry.get("earlier") or entry.get("context") or entry.get("history") or ()
    if isinstance(earlier, str):
        earlier = (earlier,)
    earlier_texts = tuple(e.get("say") or e.get("text") or "" if isinstance(e, dict) else str(e) for e in earlier)
    action = str(entry.get("action") or "").strip().lower().replace(" ", "_").replace("-", "_")
    return ReferenceCase(
        portion=portion,
        index=index,
        message=str(message),
        action=_ACTION_ALIASES.get(action, action),
        expect=expect,
        customer=str(customer),
        guest_order=str(guest.get("order") or ""),
        earlier=tuple(t for t in earlier_texts if t),
        orders=_listed(entry.get("orders") or entry.get("order")),
        items=_listed(entry.get("items") or entry.get("item")),
        tags=_listed(entry.get("tags") or entry.get("tag") or entry.get("kind")),
    )


# -- playing -----------------------------------------------------------------------------------------------
def _deps(case: ReferenceCase) -> Any:
    """The session the specialist's tools read: the signed-in demo customer, or a guest verified for one order."""
    from apps.agents.deps import SupportDeps
    from apps.commerce.models import Customer, Order

    if case.guest_order:
        order = Order.objects.get(number=case.guest_order)
        return SupportDeps(conversation=None, customer=None, verified_order=order, trace=None)  # type: ignore[arg-type]
    customer = Customer.objects.filter(user__username=case.customer).first()
    if customer is None:
        raise LookupError(f"no demo customer {case.customer!r}: is the demo data loaded?")
    return SupportDeps(conversation=None, customer=customer, verified_order=None, trace=None)  # type: ignore[arg-type]


def _rows(case: ReferenceCase, ctx: Any) -> tuple[list[dict[str, Any]], Sequence[Tier], bool]:
    """The orders the specialist's own tool lists for this action, its tiers, and whether it is the order specialist
    (a single order decides; its tiers only guess when nothing was described) or the returns one."""
    from apps.agents.specialists.billing.orders import INVOICE_LIMIT, invoice_orders
    from apps.agents.specialists.billing.tools import list_invoices
    from apps.agents.specialists.order.tools import list_orders
    from apps.agents.specialists.returns.tools import list_returnable_orders

    if case.action in _RETURNS_ACTIONS:
        return list_returnable_orders.function(ctx)["orders"], (lambda row: bool(row.get("returnable")),), False
    if case.action in _STATUS_ACTIONS:
        return list_returnable_orders.function(ctx)["orders"], (), False
    if case.action in _BILLING_ACTIONS:
        invoices = list_invoices.function(ctx, limit=INVOICE_LIMIT)["invoices"]
        return invoice_orders(invoices), (), False
    prefer = _ORDER_TIERS.get(case.action, _ORDER_TIERS["details"])
    return list_orders.function(ctx, limit=10)["orders"], state_tiers(*prefer), True


def _resolver_action(action: str) -> str | None:
    return {"details": None, "modify": None, "invoice": None, "charges": None}.get(action, action)


def play_case(case: ReferenceCase) -> CaseResult:
    ctx = SimpleNamespace(deps=_deps(case))
    rows, tiers, single = _rows(case, ctx)
    texts = [case.message, *reversed(case.earlier)][:3]
    if not rows:
        choice = OrderChoice(ResolutionKind.NONE, resolution=None)  # type: ignore[arg-type]
    else:
        choice = choose_order(
            texts,
            rows,
            action=_resolver_action(case.action),
            tiers=tiers,
            single_decides=single,
            described_too=not single,
        )
    return score(case, choice)


def score(case: ReferenceCase, choice: OrderChoice) -> CaseResult:
    got = {ResolutionKind.UNIQUE: "one", ResolutionKind.AMBIGUOUS: "ask", ResolutionKind.NONE: "none"}[choice.kind]
    if got == "one":
        orders: tuple[str, ...] = (str(choice.number),)
    elif got == "ask":
        orders = tuple(str(row["number"]) for row in choice.candidates)
    else:
        orders = ()
    items = tuple(i.product for i in choice.items)
    kind_right = got == case.expect
    items_right: bool | None = None
    if got == "one" and case.items and orders == case.orders[:1]:
        items_right = {_fold(i) for i in items} == {_fold(i) for i in case.items}
    if not kind_right:
        right = False
    elif got == "one":
        right = orders == case.orders[:1] and items_right is not False
    elif got == "ask":
        right = not case.orders or set(orders) == set(case.orders)
    else:
        right = True
    cues = choice.resolution.cues if choice.resolution is not None else ()
    return CaseResult(case, got, orders, items, right, kind_right, items_right, cues)


def _fold(product: str) -> str:
    return " ".join(product.lower().split())


def run_cases(cases: Iterable[ReferenceCase]) -> list[CaseResult]:
    return [play_case(case) for case in cases]


# -- figures -----------------------------------------------------------------------------------------------
@dataclass
class Tally:
    total: int = 0
    right: int = 0
    kind_right: int = 0
    got: Counter[str] = field(default_factory=Counter)

    def add(self, result: CaseResult) -> None:
        self.total += 1
        self.right += result.right
        self.kind_right += result.kind_right
        self.got[result.got] += 1

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    def line(self, label: str) -> str:
        got = " ".join(f"{k}:{self.got[k]}" for k in EXPECT_KINDS)
        return (
            f"{label:22} {self.right:4d}/{self.total:<4d} {self.accuracy:6.1%}   kind right "
            f"{self.kind_right:4d}/{self.total:<4d}  answered as {got}"
        )


def tallies(results: Sequence[CaseResult], by: str = "expect") -> dict[str, Tally]:
    """Per portion and, within it, per `by` (`expect`, `action` or `tags`): "tuning", "tuning one", ..."""
    out: dict[str, Tally] = {}
    for result in results:
        portion = result.case.portion
        keys = [portion]
        if by == "expect":
            keys.append(f"{portion} {result.case.expect}")
        elif by == "action":
            keys.append(f"{portion} {result.case.action}")
        else:
            keys.extend(f"{portion} {tag}" for tag in result.case.tags)
        for key in keys:
            out.setdefault(key, Tally()).add(result)
    return out


def report_lines(results: Sequence[CaseResult]) -> list[str]:
    lines = []
    for portion in PORTIONS:
        mine = [r for r in results if r.case.portion == portion]
        if not mine:
            lines.append(f"{portion}: no cases")
            continue
        table = tallies(mine)
        lines.append(table[portion].line(portion))
        kinds = [kind for kind in EXPECT_KINDS if f"{portion} {kind}" in table]
        lines.extend(table[f"{portion} {kind}"].line(f"  {kind}") for kind in kinds)
        named = [r for r in mine if r.items_right is not None]
        if named:
            lines.append(f"  items named, order right: {sum(bool(r.items_right) for r in named)}/{len(named)}")
    return lines
