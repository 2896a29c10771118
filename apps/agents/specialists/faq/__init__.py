"""The faq specialist: answers from the help center only (`help_center.search_knowledge`, which every
specialist has), so it has no tools of its own; its local behaviour, prompts and routing examples."""

from apps.agents.specialists.base import specialist_spec
from apps.agents.specialists.faq import local

SPEC = specialist_spec("faq", tools=[], local_behaviour=local.behaviour)
