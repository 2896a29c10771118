"""The help-center flow of the offline model (every specialist's, and all of the FAQ's): extractive answers.

It searches, then quotes the sentences of the best excerpt that share the most
words with the question, and cites the excerpt. When nothing relevant comes
back it says it does not know and offers a ticket (a `create_ticket` held for
the customer's yes). Sentences that read like instructions to an assistant
(a prompt-injection planted in a document) are never quoted.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_ai.messages import ModelResponse

from apps.agents.specialists.help_sections import HelpSection, help_section, help_topic
from apps.agents.specialists.help_sentences import HEADING_BONUS, excerpt_heading, loose_score
from apps.agents.specialists.help_sentences import WORD_RE as _WORD_RE
from apps.agents.specialists.help_sentences import stem as _stem
from apps.agents.specialists.help_sentences import words as _words
from apps.agents.specialists.local_common import Turn, bullet, call, failure_reply, say
from apps.agents.understanding.turn_plan import PLAN_MESSAGE
from apps.agents.understanding.vocabulary import MATERIAL_WORDS

MAX_SENTENCES = 3
# In a help-center section of at most this many sentences, a sentence of at most `SHORT_FOLLOWER_WORDS` words right
# after a quoted one completes it ("... by writing to us from your account's address." "We answer within 30 days.").
SHORT_SECTION = 3
SHORT_FOLLOWER_WORDS = 8
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
_INSTRUCTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|rules?|prompt|previous|above)\b|"
    r"\b(?:assistant|ai|bot|model|agent)s?\b.{0,40}\b(?:must|should|shall|always|now)\b|"
    r"\b(?:system prompt|you are now|new instructions|developer mode)\b|"
    r"\b(?:issue|grant|approve|process)\b.{0,30}\brefunds?\b.{0,40}\b(?:immediately|automatically|without)\b",
    re.IGNORECASE,
)


def _units(text: str) -> list[str]:
    """Sentences of a markdown excerpt: headings dropped, wrapped lines joined, list items kept apart."""
    paragraphs: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            paragraphs.append([])
            continue
        if re.match(r"^(?:[-*+]|\d+\.)\s+", line):
            paragraphs.append([re.sub(r"^(?:[-*+]|\d+\.)\s+", "", line)])
            continue
        paragraphs[-1].append(line)
    units = []
    for paragraph in paragraphs:
        joined = " ".join(paragraph)
        joined = joined.replace("**", "").replace("__", "").replace("`", "")
        joined = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", joined)
        units.extend(s.strip() for s in _SENTENCE_RE.split(joined) if len(s.strip()) > 20)
    return units


# A sentence that leans on the one before ("After that, ...", "This also ...", "You can also ...": another way than
# the main one) reads badly on its own.
_ANAPHORIC_RE = re.compile(
    r"^(?:after that|before that|this|that|these|those|it|they|also|however|otherwise|"
    r"(?:you|we) (?:can|may|could) also)\b",
    re.I,
)
_QUANTITY_QUESTION_RE = re.compile(r"\b(?:how (?:long|many|much|soon|fast)|when|what does .* cost|price|fee)\b", re.I)


def _score(asked: set[str], sentence: str, *, wants_number: bool = False) -> float:
    words = _words(sentence)
    overlap = len(asked & {_stem(w) for w in words})
    if not overlap:
        return 0.0
    # A question about an amount or a time is answered by the sentence that has one ("30 days", "$5.95");
    # otherwise the shorter of two equally relevant sentences is the more direct answer.
    bonus = 0.5 if wants_number and re.search(r"\d", sentence) else 0.0
    penalty = 1.0 if _ANAPHORIC_RE.match(sentence) else 0.0
    return overlap + bonus - penalty - 0.02 * len(words)


def _sentence_score(question: str, asked: set[str], unmatched: set[str], sentence: str, *, extra: float = 0.0) -> float:
    """`_score`, with the question's misspelt or shortened words and the kind of answer it asks for."""
    words = _words(sentence)
    stems = {_stem(w) for w in words}
    score = len(asked & stems) + loose_score(question, unmatched, words | stems, sentence) + extra
    if not score:
        return 0.0
    return score - (1.0 if _ANAPHORIC_RE.match(sentence) else 0.0) - 0.02 * len(words)


def _asked(question: str) -> set[str]:
    """The question's words, stemmed, with the materials it names by another word."""
    return {_stem(w) for w in _words(question) | set(materials_named(question))}


def best_sentences(question: str, text: str, *, heading: str = "", limit: int = MAX_SENTENCES) -> list[str]:
    """The excerpt's sentences that answer the question best, in their original order. `heading`: the section's."""
    asked = _asked(question)
    sentences = [s for s in _units(text) if not _INSTRUCTION_RE.search(s)]
    # The question's words the section has nowhere: misspelt or shortened ("20 min", "adress"), matched loosely.
    in_section = {_stem(w) for s in sentences for w in _words(s)}
    unmatched = {_stem(w) for w in _words(question)} - in_section
    # Earlier sentences of a passage state its point; later ones qualify it. A section's first sentence answers
    # what its heading names: a question that names the heading ("what info do you keep" and "What we keep") asks it.
    named = HEADING_BONUS if asked & {_stem(w) for w in _words(heading)} else 0.0
    scored = [
        (_sentence_score(question, asked, unmatched, s, extra=named if i == 0 else 0.0) - 0.05 * i, i, s)
        for i, s in enumerate(sentences)
    ]
    chosen = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))[:limit]
    if not chosen and sentences:
        chosen = [(0.0, 0, sentences[0])]
    return [s for _, _, s in sorted(chosen, key=lambda s: s[1])]


def _excerpt_sentences(question: str, excerpt: dict[str, Any], *, limit: int = MAX_SENTENCES) -> list[str]:
    return best_sentences(question, excerpt["text"], heading=excerpt_heading(excerpt), limit=limit)


def _with_short_followers(sentences: list[str], text: str) -> list[str]:
    """`sentences`, with the short sentence that follows a quoted one in a short section (it finishes the point)."""
    units = [u for u in _units(text) if not _INSTRUCTION_RE.search(u)]
    if len(units) > SHORT_SECTION:
        return sentences
    kept = []
    for i, unit in enumerate(units):
        previous_quoted = i > 0 and units[i - 1] in sentences
        if unit in sentences or (previous_quoted and len(unit.split()) <= SHORT_FOLLOWER_WORDS):
            kept.append(unit)
    return kept if kept else sentences


# How much the search's own score (its fused similarity and BM25, against the answer threshold) weighs in the choice
# of the excerpt that answers, beside the words shared: 2 answered 2 more of the 61 tuning questions of
# bench/bench_faq_answers.py from the right section than 0 (the same as 4 and 6).
RELEVANCE_WEIGHT = 2.0


def excerpt_fit(question: str, excerpt: dict[str, Any]) -> float:
    """How well an excerpt answers: its best sentence's overlap, its title's, and the search's similarity and score."""
    asked = _asked(question)
    wants_number = bool(_QUANTITY_QUESTION_RE.search(question))
    units = [s for s in _units(excerpt["text"]) if not _INSTRUCTION_RE.search(s)]
    best = max((_score(asked, s, wants_number=wants_number) for s in units), default=0.0)
    title = len(asked & {_stem(w) for w in _words(excerpt.get("section") or excerpt["title"])})
    # A document's opening section (its section is the title itself) says what the topic is.
    opening = 0.5 if excerpt.get("section") == excerpt["title"] else 0.0
    searched = 2.0 * float(excerpt.get("similarity") or 0.0) + RELEVANCE_WEIGHT * float(excerpt.get("relevance") or 0.0)
    return best + 1.5 * title + opening + searched


_CLAUSE_RE = re.compile(r"(?<=[,;.!?])\s+")
# Clauses that only tell what the customer bought, or greet: the shop's policy is the same whatever was bought,
# and the product's name pulls the search towards pages about the product instead of the policy.
_NARRATIVE_RE = re.compile(
    r"^(?:(?:hi|hello|hey)(?: there)?[,.!]?$|(?:so |well )?i(?:'ve| have)? (?:just |recently )?"
    r"(?:bought|ordered|purchased|got)\b[^?]*$)",
    re.IGNORECASE,
)


def search_query(text: str) -> str:
    """What to look up: the message without clauses that only tell what was bought ("i bought trail runners from
    you, is there a warranty on them?" looks up "is there a warranty on them?"), with the material a word names
    ("merino" is wool: the care instructions are by material)."""
    clauses = [c.strip() for c in _CLAUSE_RE.split(text.strip()) if c.strip()]
    kept = [c for c in clauses if not _NARRATIVE_RE.match(c)]
    query = " ".join(kept) if kept else text
    # What the thing bought is made of still decides how to care for it ("i bought your linen bedding set, is it ok
    # in the tumble dryer?"): the materials of the clauses left out stay in the query.
    dropped = " ".join(c for c in clauses if c not in kept)
    bought = [m for m in _materials_in(dropped) if m not in query.lower()]
    return " ".join([query, *materials_named(query), *bought])


_MATERIAL_OF = {word: material for material, words in MATERIAL_WORDS.items() for word in words}


def _materials_in(text: str) -> list[str]:
    """The materials the text names, by their own name or another word."""
    words = set(_WORD_RE.findall(text.lower()))
    return sorted({w for w in words if w in MATERIAL_WORDS} | {_MATERIAL_OF[w] for w in words if w in _MATERIAL_OF})


def materials_named(text: str) -> list[str]:
    """The materials the text names by another word, not already named themselves."""
    words = set(_WORD_RE.findall(text.lower()))
    return sorted({_MATERIAL_OF[w] for w in words if w in _MATERIAL_OF} - words)


def behaviour_steps(t: Turn) -> ModelResponse:
    """Search, then answer from the excerpts, or say it is not known and offer a ticket."""
    ticket = t.outcome("create_ticket")
    if ticket is not None and t.was_called("search_knowledge"):
        if ticket.awaiting:
            return say(
                "I'm sorry, I couldn't find an answer to that in our help center, and I'd rather not guess. "
                "I can open a ticket so our team answers you by email: reply **yes** to open it, or **no** to leave it."
            )
        return say(
            "I'm sorry, I couldn't find an answer to that in our help center, and I'd rather not guess. "
            "A person from our team can help if you ask for one."
        )
    searches = [o for o in t.outcomes if o.tool == "search_knowledge"]
    if not searches:
        return call(("search_knowledge", {"query": search_query(t.text)[:500]}))
    if any(o.data is None for o in searches):
        return say(failure_reply())
    if len(searches) == 1:
        page = whole_page_asked(t.text, searches[0].data.get("excerpts") or [])
        if page is not None:
            # "what is your return policy?": the page's every section answers it, not only the best-ranked few.
            return call(("search_knowledge", {"query": search_query(t.text)[:500], "page_of": page["chunk_id"]}))
    found = bool(searches[0].data.get("excerpts"))
    # The help-topic reader (precision 0.95) is asked unless the customer's words reached the answer threshold: a near
    # miss kept for want of better ("do you deliver to germany": "Tracking says delivered") yields to the section it
    # is sure of.
    answered = any(float(e.get("relevance") or 0.0) >= 1.0 for e in searches[0].data.get("excerpts") or [])
    section = None if answered else _section_asked(t)
    if searches[-1].data.get("page"):
        return _page_answer(t, searches[-1].data, question=_with_section(t.text, section))
    if section is not None and len(searches) >= 2 and searches[-1].data.get("query") == section.query:
        # The section the question is about, found by its own name: answered for the question, or its page whole.
        data = searches[-1].data
        page = next((e for e in data.get("excerpts") or [] if e["title"] == section.page), None)
        if page is not None:
            return call(("search_knowledge", {"query": section.query, "page_of": page["chunk_id"]}))
        if data.get("excerpts"):
            return _answer(t, data, question=_with_section(t.text, section))
    if len(searches) == 1:
        asked = asked_questions(t.text)
        if section is not None and len(asked) < 2:
            # Nothing found in the customer's words, and the help-topic reader is sure which section they mean
            # ("it went on sale the day after, can i get the difference?": Price dropped after I ordered).
            return call(("search_knowledge", {"query": section.query}))
        clauses = asked if len(asked) >= 2 else [] if found else focused_queries(t.text)
        topic = None if found else help_topic(t.text)
        if topic:
            # Nothing found in the customer's own words: search again naming the help page their learned intent is
            # about ("whats ur email, and are there people working on saturdays?" asks how to reach us).
            clauses = [f"{topic}: {c}" for c in clauses] or [f"{topic}: {search_query(t.text)}"]
        if clauses:
            # Two questions in one message ("whats your email, and are you open on saturdays?") are searched one by
            # one; a long message that found nothing as a whole is searched clause by clause too.
            return call(*(("search_knowledge", {"query": c[:500]}) for c in clauses))
    answers = _each_question(t, [o.data for o in searches[1:]])
    if answers:
        return say(*answers, "Is there anything else I can help with?")
    return _answer(t, _best_search([o.data for o in searches]))


_QUESTION_START_RE = re.compile(
    r"^\W*(?:(?:can|could|will|would|do|does|did|is|are|was|should|may|how|what|when|where|which|why|who)\b|"
    r"what'?s\b|whats\b)",
    re.IGNORECASE,
)


def asked_questions(text: str) -> list[str]:
    """The questions of a message that asks more than one ("whats ur email address, and are there people working on
    saturdays?"): its clauses that start as a question and name two words of their own; [] for one question."""
    clauses = [c.strip(" ,") for c in _FOCUS_SPLIT_RE.split(search_query(text)) if c and c.strip(" ,")]
    clauses = [re.sub(r"^(?:and|but|so|also)\s+", "", c, flags=re.IGNORECASE) for c in clauses]
    asked = [c for c in clauses if _QUESTION_START_RE.match(c) and len(_words(c)) >= 2]
    return asked[:MAX_CLAUSE_SEARCHES] if len(asked) >= 2 else []


def _each_question(t: Turn, results: list[dict[str, Any]]) -> list[str]:
    """One answer per question searched alone, when at least two found an excerpt of their own; else []."""
    if len(results) < 2 or len(asked_questions(t.text)) < 2:
        return []
    answers: list[str] = []
    quoted: set[int] = set()
    for data in results:
        excerpts = [e for e in data.get("excerpts") or [] if e["chunk_id"] not in quoted]
        if not excerpts:
            continue
        question = str(data.get("query") or t.text)
        top = max(excerpts, key=lambda e: excerpt_fit(question, e))
        quoted.add(top["chunk_id"])
        answers.append(" ".join(_excerpt_sentences(question, top, limit=2)) + f" [{top['id']}]")
    return answers if len(answers) >= 2 else []


def _best_search(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The first search, unless it found nothing and a clause's search did (the most similar excerpt wins)."""
    found = [r for r in results if r.get("excerpts")]
    if not found or results[0].get("excerpts"):
        return results[0]
    return max(found, key=lambda r: max(float(e.get("similarity") or 0.0) for e in r["excerpts"]))


_FOCUS_SPLIT_RE = re.compile(
    r"[.!?;]+\s*|,\s+|\s+(?:and|but|so)\s+(?=(?:will|would|can|could|do|does|did|is|are|how|what|when)\b)",
    re.IGNORECASE,
)
MAX_CLAUSE_SEARCHES = 3


def focused_queries(text: str) -> list[str]:
    """The clauses of a question worth searching alone ("the reset link you sent says expired already?? how long
    does it even last"): at least two, each naming two words of its own; none for a one-clause question."""
    clauses = [c.strip(" ,") for c in _FOCUS_SPLIT_RE.split(search_query(text))]
    kept = [c for c in clauses if len(_words(c)) >= 2 and not _NARRATIVE_RE.match(c)]
    return kept[:MAX_CLAUSE_SEARCHES] if len(kept) >= 2 else []


# Words that ask for a topic as a whole ("your return policy", "the warranty terms"), not one fact of it.
_WHOLE_TOPIC = frozenset({"policy", "policies", "rule", "rules", "term", "terms", "condition", "conditions"})
PAGE_SECTIONS = 5


def whole_page_asked(question: str, excerpts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The excerpt whose page the question asks about as a whole, or None.

    A question is about a page as a whole when it names nothing but the page's topic: every word it asks about
    (besides "policy", "terms"...) is in the title of the page of the excerpt that fits it best ("what is your
    return policy?" and the page "Return policy"; "is there a warranty?" and "Warranty").
    """
    asked = {_stem(w) for w in _words(question)}
    if not excerpts or not asked:
        return None
    top = max(excerpts, key=lambda e: excerpt_fit(question, e))
    title = {_stem(w) for w in _words(top["title"])}
    topic = asked - {_stem(w) for w in _WHOLE_TOPIC}
    return top if topic and topic <= title else None


def _section_asked(t: Turn) -> HelpSection | None:
    """The section the help-topic reader is sure the message asks about; for a planned step's part of a message, read
    with the rest of it when the part alone is unclear ("can i get the difference back?" after "the blanket i ordered
    went on sale literally the day after")."""
    section = help_section(search_query(t.text))
    whole = str(t.facts.get(PLAN_MESSAGE) or "")
    if section is None and whole and whole != t.text:
        section = help_section(search_query(whole))
    return section


def _with_section(text: str, section: Any) -> str:
    """The question, with the words the help center names its section by (sentences are chosen for both)."""
    return f"{text} {section.query}" if section is not None else text


def _page_answer(t: Turn, data: dict[str, Any], *, question: str = "") -> ModelResponse:
    """The page in brief: its opening's most relevant sentence, then one line per section under its heading."""
    question = question or t.text
    sections = data.get("excerpts") or []
    if not sections:
        return _answer(t, data, question=question)
    opening = sections[0]
    lead = best_sentences(question, opening["text"], limit=1)
    lines = []
    for section in sections[1:PAGE_SECTIONS]:
        best = best_sentences(question, section["text"], limit=1)
        heading = str(section.get("section") or "").split(" > ")[-1].strip()
        if best and best[0] not in lead and heading and heading != opening["title"]:
            lines.append(f"{heading}: {best[0]}")
    if not lead:
        return _answer(t, data, question=question)
    return say(" ".join(lead) + f" [{opening['id']}]", bullet(lines), "Is there anything else I can help with?")


def _names_section(question: str, section: dict[str, Any], top: dict[str, Any]) -> bool:
    """The question names a word of the section's own heading that the top excerpt's heading does not have."""

    def heading(excerpt: dict[str, Any]) -> set[str]:
        return {_stem(w) for w in _words(str(excerpt.get("section") or "").split(" > ")[-1])}

    own = heading(section) - heading(top) - {_stem(w) for w in _words(str(section.get("title") or ""))}
    return bool(own & {_stem(w) for w in _words(question)})


def _answer(t: Turn, data: dict[str, Any], *, question: str = "") -> ModelResponse:
    question = question or t.text
    excerpts = data.get("excerpts") or []
    if not excerpts:
        return call(
            (
                "create_ticket",
                {
                    "subject": f"Question from chat: {' '.join(t.text.split())[:100]}",
                    "description": f"The help center had no answer to the customer's question:\n{t.text}",
                    "category": "other",
                    "priority": "low",
                },
            )
        )
    ranked = sorted(excerpts, key=lambda e: -excerpt_fit(question, e))
    top = ranked[0]
    sentences = _excerpt_sentences(question, top)
    sentences = _with_short_followers(sentences, top["text"])
    # The numbers say which excerpts the answer quotes: the customer sees those listed as its sources.
    answer = " ".join(sentences) + f" [{top['id']}]"
    # A second excerpt from another document adds what the first did not say; so does another section of the same
    # page that the question names and the first does not ("is express free over $50 too, or just standard?").
    for other in ranked[1:2]:
        fit = excerpt_fit(question, other)
        if (other["title"] != top["title"] and fit >= 0.8 * excerpt_fit(question, top)) or (
            other["title"] == top["title"]
            and fit >= 0.6 * excerpt_fit(question, top)
            and _names_section(question, other, top)
        ):
            extra = [s for s in _excerpt_sentences(question, other, limit=1) if s not in sentences]
            if extra:
                answer += f" {extra[0]} [{other['id']}]"
    return say(answer, "Is there anything else I can help with?")
