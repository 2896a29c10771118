"""What to search the help center for when the customer's own words found nothing: the page or section their
question is about, named as the help center names it.

A customer asks "the blanket went on sale the day after, can i get the difference back?"; the help center says
"Price dropped after I ordered. We do not adjust the price of orders already placed." The words barely meet, and
the search finds nothing it may answer from. Two learned readings name the place instead:

- the specialist's learned intent, when it is about one page (`HELP_TOPICS`: a `human` contact question is the
  Contact page): the search runs again with the page's name before the question;
- the help-topic reader (`understanding/examples/help_topic.yaml`, its own classifier with an `other` class and a
  precision threshold), for the sections customers ask about in words the pages do not use (`HELP_SECTIONS`): the
  search runs on the section's name alone, which finds it, and the answer picks its sentences for the question. A
  question about a policy as a whole ("if i don't like them can i send them back?": the window and the fee) is
  answered from the whole page, section by section.
"""

from __future__ import annotations

from dataclasses import dataclass

# The help page a learned intent asks about: searched again by name when the customer's own words found nothing.
# Only intents whose answer is one page of the help center; the keys are (classifier, intent). (`return_policy` is
# not: its questions spread over the return, exchange, final-sale, wrong-item and price pages, and the Return policy
# page named answered "the blanket went on sale, can i get the difference?" with the return window.)
HELP_TOPICS: dict[tuple[str, str], str] = {
    ("human", "contact_question"): "Contact us and support hours",
    ("returns", "warranty"): "Warranty",
    ("order", "delivery_time"): "Delivery times",
    ("faq", "privacy_security"): "Privacy and your data",
}

HELP_SECTION_READER = "help_topic"


@dataclass(frozen=True)
class HelpSection:
    query: str  # what the help center calls it: searched alone
    page: str = ""  # the page to answer from as a whole ("" : the section found answers)


# The help-topic reader's topics (`understanding/examples/help_topic.yaml`), each as the help center names it.
HELP_SECTIONS: dict[str, HelpSection] = {
    "price_dropped": HelpSection("Price dropped after I ordered"),
    "currency": HelpSection("Payment methods: prices and currency", page="Payment methods"),
    "return_fee": HelpSection("Return shipping fee"),
    "return_window": HelpSection("Return policy: return window", page="Return policy"),
    "warranty": HelpSection("Warranty against manufacturing defects", page="Warranty"),
    "shipping_abroad": HelpSection("International shipping: countries we ship to"),
    "payment_methods": HelpSection("Payment methods we accept", page="Payment methods"),
}


def help_topic(text: str) -> str | None:
    """The help page the message's learned intent is about (under the route the router's classifier gives it), or
    None when the intent is unclear or is no one page's."""
    from apps.agents.routing.classifier import HUMAN_INTENTS, get_classifier
    from apps.agents.understanding.intents import SPECIALISTS, detect_intent

    route = get_classifier().predict([text])[0].route
    name = HUMAN_INTENTS if route == "human" else route
    if name != HUMAN_INTENTS and name not in SPECIALISTS:
        return None
    intent = detect_intent(name, text).intent
    return HELP_TOPICS.get((name, intent or ""))


def help_section(text: str) -> HelpSection | None:
    """The help-center section the help-topic reader is sure the question asks about, or None (unsure, or `other`)."""
    from apps.agents.understanding.intents import detect_intent

    return HELP_SECTIONS.get(detect_intent(HELP_SECTION_READER, text).intent or "")
