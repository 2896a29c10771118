# ruff: noqa: E501  -- pattern tables read better unwrapped
"""The injection rule table: `(id, weight, pattern)` read by `injection.score_injection`.

Unambiguous phrases weigh 0.85-0.95 and trip alone; words that also occur in
ordinary messages weigh 0.12-0.5 and need company (docs/guardrails.md). Rules
read the folded text (lower case, no accents, look-alikes mapped) unless `raw`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_W = r"(?:\W+\w+)"  # one more word, for bounded gaps between key words


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    weight: float
    pattern: re.Pattern[str]
    raw: bool = False  # match the cleaned text as written rather than the folded form


def _r(rule_id: str, weight: float, pattern: str, *, raw: bool = False, flags: int = 0) -> Rule:
    return Rule(rule_id, weight, re.compile(pattern, flags), raw)


_OVERRIDE_VERB = (
    r"(?:ignore|ignoring|disregard|forget|override|bypass|discard|neglect|skip|abandon|drop|remove|delete|erase|clear"
    r"|set aside|put aside|leave behind|let go of|throw away|throw out)"
)
_PRIOR = r"(?:previous|prior|preceding|above|earlier|former|initial|original|old|existing|foregoing|system|default)"
_DIRECTIVE = (
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|commands|programming|guidance|constraints"
    r"|restrictions|context|conversations?|tasks?|assignments?|messages|inputs?|information|text|orders)"
)
_STRONG_DIRECTIVE = r"(?:instructions?|prompts?|directives|guidelines|programming|system prompt)"
_ETHICS = (
    r"(?:restrictions?|limits|limitations|filters?|filtering|rules|boundaries|guidelines|censorship|ethics|morals)"
)
_MODEL = r"(?:chatgpt|gpt-?\d?|openai|anthropic|claude|llm|language model|ai model|assistant|a\.?i\.?)"

RULES: tuple[Rule, ...] = (
    # --- instruction override -------------------------------------------------
    _r("override.prior", 0.95, rf"\b{_OVERRIDE_VERB}\b{_W}{{0,3}}?\W+{_PRIOR}\W+(?:\w+\W+)?{_DIRECTIVE}\b"),
    _r("override.all", 0.85, rf"\b{_OVERRIDE_VERB}\b\W+(?:all|any|every|your)\W+(?:\w+\W+)?{_STRONG_DIRECTIVE}\b"),
    _r(
        "override.everything",
        0.9,
        rf"\b(?:forget|ignore|disregard)\W+(?:about\W+)?(?:all|everything)\b{_W}{{0,2}}?\W+"
        r"(?:before|above|previously|so far|until now|earlier|you (?:were|have been|was) (?:told|given|taught))",
    ),
    _r(
        "override.the_above",
        0.75,
        r"\b(?:ignore|disregard|forget)\W+(?:all of |everything )?(?:the |all )?(?:above|preceding|foregoing)\b(?!\W+(?:message|email|mail|question|order|address|item|comment|one|reply))",
    ),
    _r("override.everything_bare", 0.6, r"\b(?:forget|disregard) (?:about )?everything\b"),
    _r(
        "override.disobey",
        0.9,
        r"\b(?:do not|don't|dont|stop|never|no longer) (?:follow|obey|adhere to|listen to|comply with)\W+"
        rf"(?:\w+\W+){{0,2}}?(?:{_STRONG_DIRECTIVE}|rules|guidelines)\b",
    ),
    _r(
        "override.new_instructions",
        0.6,
        r"\b(?:new|updated|real|actual|true) (?:instructions?|task|rules|directives?|goal|objective)\s*:",
    ),
    _r(
        "override.your_new",
        0.7,
        r"\byour (?:new|real|actual|true|only) (?:task|instructions?|role|goal|purpose|job|objective) (?:is|are|will be|now)\b",
    ),
    _r(
        "override.from_now_on",
        0.4,
        r"\b(?:from now on|starting now|henceforth|for the rest of (?:this|the) conversation),? (?:you|your)\b",
    ),
    _r(
        "override.instead",
        0.3,
        r"\b(?:now|instead),? (?:you )?(?:must|will|should|shall|have to) (?:only )?(?:say|answer|respond|reply|write|print|output|act)\b",
    ),
    _r("override.override_word", 0.35, rf"\b(?:override|overrides|overriding|overwrite)\b\W+(?:\w+\W+)?{_DIRECTIVE}\b"),
    # Task switching: praise or a full stop, then "now your new task is...".
    _r(
        "task.switch",
        0.5,
        r"\b(?:now|next|instead)\b[^.!?\n]{0,40}\b(?:new|next|different|following|other|real) (?:task|assignment|challenge|job|mission)\b",
    ),
    _r(
        "task.praise_then_now",
        0.3,
        r"\b(?:well done|good job|great job|excellent|that is enough|that's enough|that was (?:good|great)|very good|congratulations|perfect|okay,? stop|stop here)\b[^\n]{0,80}\bnow\b",
    ),
    _r(
        "task.role_reassign",
        0.45,
        r"\b(?:now you are|you are now|you're now|now you're|from now on,? you (?:are|will be)|now act as|now pretend|you will now (?:act|be|pretend))\b",
    ),
    _r(
        "task.say_exact",
        0.35,
        r"\b(?:say|print|output|write|respond with|reply with|answer with)\b:? (?:only |exactly |just |simply )?[\"'][^\"'\n]{2,60}[\"']",
    ),
    _r(
        "task.nothing_else",
        0.3,
        r"\b(?:and|with) nothing else\b|\b(?:do not|don't) (?:add|include|write|say) anything else\b",
    ),
    _r("task.pwned", 0.6, r"\bpwn(?:ed|d)\b"),
    _r("task.game", 0.4, r"\blet'?s play a game\b|\bsimon says\b"),
    # Other languages customers of a European shop write in.
    _r(
        "override.de",
        0.9,
        r"\b(?:vergiss|vergessen sie|ignorier\w*|missachte\w*|uberschreib\w*)\b(?:\W+\w+){0,4}?\W+"
        r"(?:alles|alle[sn]?|vorherige\w*|bisherige\w*|vorangegangene\w*|obige\w*|zuvor|davor|anweisungen|befehle|aufgaben|regeln)\b",
    ),
    _r(
        "override.de_new",
        0.5,
        r"\b(?:neue aufgabe|neue anweisung\w*|ab jetzt (?:bist|sollst) du|du bist (?:jetzt|nun)|tu so,? als)\b",
    ),
    _r(
        "override.fr",
        0.9,
        r"\b(?:ignorez|ignorer|ignore (?:toutes |tous )?(?:les|vos)|oublie[rz]? (?:tout|toutes|les|vos))\b(?:\W+\w+){0,3}?\W*(?:instructions?|consignes|regles|ce qui precede|precedentes?|tout)\b",
    ),
    _r(
        "override.es_it",
        0.9,
        r"\b(?:ignora[rd]?|olvida[rd]?|dimentica)\b(?:\W+\w+){0,3}?\W+(?:instrucciones|istruzioni|reglas|regole|todo lo anterior|tutto)\b",
    ),
    # --- role-play jailbreaks ---------------------------------------------------
    _r(
        "jailbreak.dan",
        0.9,
        r"\bdo anything now\b|\bdan mode\b|\b(?:as|act as|you are|be|called) dan\b[^\n]{0,200}\b(?:rules|restrictions|openai|anything)\b",
    ),
    _r(
        "jailbreak.mode",
        0.8,
        r"\b(?:developer|dev|god|jailbreak|unrestricted|unfiltered|evil|debug|admin|sudo|maintenance) mode\b",
    ),
    _r("jailbreak.word", 0.5, r"\bjailbr(?:eak|oken|eaking)\w*\b"),
    _r(
        "jailbreak.no_limits",
        0.4,
        rf"\b(?:no|without(?: any)?|free (?:of|from)(?: all| any)?|zero|lacks?|bypass(?:es|ing)?) {_ETHICS}\b",
    ),
    _r(
        "jailbreak.unfiltered",
        0.45,
        r"\b(?:unfiltered|uncensored|unrestricted|amoral|unethical|immoral|unbound|unshackled)\b",
    ),
    _r(
        "jailbreak.no_rules",
        0.7,
        r"\b(?:does not|doesn't|doesnt|do not|don't|dont|never|won't|will not|no longer|not) (?:have to |need to )?"
        r"(?:follow|abide by|comply with|adhere to|care about|obey|respect|bound by|restricted by|limited by)\W+"
        r"(?:\w+\W+){0,2}?(?:rules|guidelines|polic(?:y|ies)|restrictions|ethics|ethical|moral\w*|laws|openai|principles|filters)\b",
    ),
    _r(
        "jailbreak.policy",
        0.9,
        r"\b(?:ignore|ignoring|bypass\w*|break\w*|violat\w+|circumvent\w*|disregard\w*|not bound by)\W+(?:\w+\W+){0,2}?"
        r"(?:openai|anthropic|content|safety|ethical|moral) (?:polic(?:y|ies)|guidelines|rules|filters?|restrictions|principles|standards)\b",
    ),
    _r(
        "jailbreak.never_refuse",
        0.55,
        r"\b(?:never|must not|mustn't|will not|won't|cannot|can't|shall not|are not allowed to) (?:ever )?(?:refuse|decline|reject|say no|say (?:that )?(?:you|i) can(?:no|')t)\b"
        r"|\b(?:don't|do not) (?:ever )?(?:refuse|decline) (?:any|a single|to answer|to respond)\b",
    ),
    _r(
        "jailbreak.character",
        0.45,
        r"\b(?:stay|remain|keep|staying) in character\b|\bbreak(?:ing)? character\b|\bout of character\b",
    ),
    _r(
        "jailbreak.not_ai",
        0.7,
        rf"\byou(?: are|'re) (?:now )?(?:no longer|not) (?:an? |bound by )?(?:{_MODEL}|bound|restricted|limited)\b",
    ),
    _r(
        "jailbreak.free_ai",
        0.75,
        rf"\b(?:an? )?(?:{_MODEL}) (?:without|with no|that has no|free (?:of|from)) (?:\w+ )?{_ETHICS}\b",
    ),
    _r("jailbreak.pretend", 0.25, r"\b(?:pretend|imagine) (?:to be|you are|you're|that you)\b"),
    _r("jailbreak.act_as", 0.12, r"\b(?:act|acting|behave) as\b|\brole[- ]?play\b"),
    _r(
        "jailbreak.dual",
        0.5,
        r"\b(?:two|2|both) (?:different |separate )?(?:responses|answers|replies|paragraphs|ways)\b|\[(?:classic|jailbreak|normal|developer)\]|🔒|🔓",
    ),
    _r("jailbreak.opposite", 0.5, r"\bopposite (?:mode|day)\b|\banti-?gpt\b|\bevil (?:twin|confidant|ai|bot)\b"),
    _r("jailbreak.tokens", 0.5, r"\b\d+ tokens?\b[^\n]{0,120}\b(?:deduct\w*|lose|lost|die|dies|cease)\b"),
    _r(
        "jailbreak.content",
        0.3,
        r"\b(?:illegal|harmful|offensive|explicit|nsfw|unethical|immoral|violent|dangerous) (?:content|material|language|requests?|things|activities|information)\b",
    ),
    _r("jailbreak.model_named", 0.12, rf"\b{_MODEL}\b"),
    _r(
        "jailbreak.hypothetical",
        0.2,
        r"\b(?:hypothetical|fictional|fictitious) (?:response|scenario|world|story|ai|setting)\b",
    ),
    _r(
        "jailbreak.no_matter",
        0.7,
        r"\bno matter how (?:immoral|unethical|illegal|dangerous|harmful|offensive|inappropriate|explicit|wrong|bad|controversial)\b",
    ),
    _r(
        "jailbreak.no_warnings",
        0.5,
        r"\bwithout (?:any |adding )?(?:warnings?|disclaimers?|censorship|censoring|moral(?:ity|s)?|ethics|apolog\w+|hesitation|questioning|judg(?:e)?ment)\b",
    ),
    _r(
        "jailbreak.any_request",
        0.4,
        r"\b(?:answer|respond to|fulfill|comply with|reply to|obey) (?:any|every|all) (?:question|request|prompt|query|command|instruction)s?\b",
    ),
    _r(
        "jailbreak.regardless",
        0.45,
        r"\b(?:always|will|must) (?:answer|respond|reply|comply|provide)\b[^.\n]{0,60}\b(?:no matter|regardless|even if|whatever)\b",
    ),
    _r(
        "jailbreak.template",
        0.55,
        r"\[(?:insert )?(?:your )?(?:prompt|question|request|query)(?: here)?\]|\{(?:prompt|question|query|request)\}|insert prompt here",
    ),
    _r(
        "jailbreak.persona",
        0.6,
        r"\b(?:machiavellian|betterdan|mongo tom|basedgpt|antigpt|alphabreak|dan \d+(?:\.\d+)?|chatgpt with dan)\b",
    ),
    _r(
        "jailbreak.no_ethics",
        0.5,
        r"\b(?:no|any|without|lacks?) (?:ethical|moral) (?:guidelines|principles|restrictions|boundaries|compass|limits|code|standards)\b",
    ),
    _r(
        "jailbreak.simulate",
        0.6,
        r"\b(?:immerse yourself|role of (?:another|an?) (?:ai|model|chatbot)|simulate (?:an? )?(?:ai|chatbot|model)|you will (?:now )?(?:simulate|emulate|impersonate))\b",
    ),
    _r("jailbreak.censor", 0.45, r"\b(?:not|never|isn't|is not) (?:be )?censor(?:ed|s)?\b|\bno censorship\b"),
    _r(
        "jailbreak.confines",
        0.7,
        r"\b(?:broken free|break free|freed|free) (?:of|from) (?:the )?(?:typical |usual )?(?:confines|shackles|chains|limitations)\b",
    ),
    _r("jailbreak.anything", 0.4, r"\b(?:can|will|could) (?:say|do|generate|write|answer) anything\b"),
    _r("jailbreak.content_policy", 0.35, r"\bcontent polic(?:y|ies)\b|\busage polic(?:y|ies)\b"),
    _r("jailbreak.profanity", 0.3, r"\b(?:swear(?:ing)?|curse words|cursing|profanity|profane)\b"),
    _r("jailbreak.harm_words", 0.2, r"\b(?:illegal|unethical|immoral|harmful)\b"),
    # --- system-prompt exfiltration ------------------------------------------
    _r(
        "exfil.system_prompt",
        0.85,
        r"\b(?:reveal|show|print|display|output|repeat|tell|give|share|leak|dump|list|write|spell|provide|send|"
        r"translate|summari[sz]e|paste|copy|recite|return|what (?:is|are|was|were))\b(?:\W+\w+){0,4}?\W+"
        r"(?:system|initial|original|hidden|secret|internal|developer|pre-?)\W*(?:prompt|instructions?|message|rules)\b",
    ),
    _r(
        "exfil.your_instructions",
        0.7,
        r"\b(?:reveal|show|print|display|output|repeat|tell|give|share|leak|dump|list|write|spell|provide|recite|"
        r"what (?:is|are|was|were))\b(?:\W+\w+){0,3}?\W+your (?:\w+ )?(?:prompt|instructions|rules|guidelines|programming|directives)\b",
    ),
    _r("exfil.mention", 0.45, r"\b(?:system|initial|hidden|secret) prompt\b|\bpre-?prompt\b|\bprompt template\b"),
    _r(
        "exfil.above",
        0.85,
        r"\b(?:repeat|print|output|write|copy|say|show|translate|summari[sz]e)\b(?:\W+\w+){0,3}?\W+"
        r"(?:text|words|everything|all|content|lines?|instructions|message|prompt)\W+(?:above|before this|preceding|prior to this|so far)\b",
    ),
    _r(
        "exfil.told",
        0.7,
        r"\bwhat (?:were|are|have) you (?:been )?(?:told|instructed|programmed|trained) to\b|\bwho (?:programmed|instructed) you\b",
    ),
    _r("exfil.verbatim", 0.3, r"\b(?:verbatim|word for word|exact wording|in full)\b"),
    _r(
        "exfil.starts_with",
        0.8,
        r"\b(?:begin|start) (?:your (?:reply|answer|response) )?with (?:the words )?\"?you are\b",
    ),
    _r(
        "exfil.secrets",
        0.5,
        r"\b(?:reveal|tell|give|show|what is|what's|print)\b(?:\W+\w+){0,2}?\W+(?:your|the system'?s?|the admin'?s?|the secret|the hidden)"
        r" (?:password|secret|api key|key|credentials|token)\b",
    ),
    # --- delimiter spoofing -----------------------------------------------------
    _r(
        "delimiter.chat_tokens",
        0.85,
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>|\[/?INST\]|<</?SYS>>",
        raw=True,
    ),
    _r(
        "delimiter.wrapper_tag",
        0.8,
        r"</?\s*(?:system|untrusted[\w-]*|instructions?|tool_result|tool_output|customer_message|retrieved[\w-]*|document|context|admin)\b[^>]{0,80}>",
        raw=True,
        flags=re.IGNORECASE,
    ),
    _r(
        "delimiter.role_line",
        0.55,
        r"(?m)^\s*(?:#{1,4}\s*)?(?:system|assistant|developer|admin)\s*(?:message|prompt|note)?\s*:",
        raw=True,
        flags=re.IGNORECASE,
    ),
    _r(
        "delimiter.heading",
        0.6,
        r"(?m)^\s*#{2,4}\s*(?:system|instructions?|new instructions?|response|assistant)\b",
        raw=True,
        flags=re.IGNORECASE,
    ),
    _r(
        "delimiter.bracket_note",
        0.75,
        r"\[(?:system|admin|developer|operator|assistant)(?: (?:message|note|override|prompt|instruction)s?)?\]",
    ),
    _r(
        "delimiter.end_of",
        0.5,
        r"\b(?:end|close) of (?:the )?(?:user |customer )?(?:input|prompt|message|data|document|context|instructions)\b",
    ),
    _r("delimiter.fence", 0.7, r"```\s*(?:system|instructions?)\b"),
    # --- encoded payloads -------------------------------------------------------
    _r(
        "encoded.instruction",
        0.4,
        r"\b(?:decode|decipher|translate|convert)\b(?:\W+\w+){0,3}?\W+(?:base ?64|rot ?13|hex|binary|morse|cipher)\b[^\n]{0,80}\b(?:follow|execute|do|obey|run|answer|respond)\b",
    ),
    _r(
        "encoded.reply",
        0.3,
        r"\b(?:respond|reply|answer|output|write)\b(?:\W+\w+){0,2}?\W+(?:in|using|as) (?:base ?64|rot ?13|hex|binary|leetspeak|morse)\b",
    ),
    # --- social engineering aimed at a shop's agent -----------------------------
    _r(
        "social.authority",
        0.35,
        r"\b(?:i am|i'm|this is) (?:the |an |your |a )?(?:admin|administrator|developer|owner|ceo|system administrator|sysadmin|"
        r"operator|supervisor|security team|openai|anthropic)\b",
    ),
    _r(
        "social.authorized", 0.5, r"\byou(?: are|'re) (?:now |hereby )?(?:authori[sz]ed|permitted|allowed|cleared) to\b"
    ),
    _r(
        "social.without_approval",
        0.5,
        r"\b(?:without|skip(?:ping)?|bypass(?:ing)?|no need for)(?: the| any)? (?:approval|review|verification|confirmation|authori[sz]ation)\b",
    ),
)
