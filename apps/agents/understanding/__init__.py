"""What the customer means: learned intents, yes/no answers, which of their orders, and several requests planned.

- `intents`: one calibrated classifier per specialist over the router's embeddings (`detect_intent`).
- `confirmation`: the learned yes / no / unclear reader (`classify_confirmation`).
- `references`: which of the customer's own orders and items a message names (`resolve_order`), from the
  cues one message gives (`cues`) against the customer's own orders (`order_facts`).
- `planner`: a message asking several things as steps, each with route, intent and orders (`plan_message`).

Examples are in `examples/`, one file per specialist; `heldout/` is never trained or tuned on.
"""

from apps.agents.understanding.confirmation import Confirmation, classify_confirmation, read_confirmation
from apps.agents.understanding.intents import IntentClassifier, IntentPrediction, detect_intent, get_intent_classifier
from apps.agents.understanding.planner import Plan, Step, plan_message
from apps.agents.understanding.references import (
    ItemFacts,
    OrderFacts,
    Resolution,
    ResolutionKind,
    order_facts_for_customer,
    resolve_order,
)

__all__ = [
    "Confirmation",
    "IntentClassifier",
    "IntentPrediction",
    "ItemFacts",
    "OrderFacts",
    "Plan",
    "Resolution",
    "ResolutionKind",
    "Step",
    "classify_confirmation",
    "detect_intent",
    "get_intent_classifier",
    "order_facts_for_customer",
    "plan_message",
    "read_confirmation",
    "resolve_order",
]
