"""The specialists: one package per specialist route (`order`, `returns`, `billing`, `faq`).

Each package holds its spec (`SPEC` in `__init__`), its tools, its prompt
versions, its local behaviour and its routing examples; `base.py` says what a
spec is. The modules beside the packages are what specialists share: the
session's scope (`scope`), typed tool results (`results`), serialisers, the
shared tools (ticket, escalate, hand back) and the local model's common
helpers. `apps.agents.registry` collects the packages; see docs/specialists.md.
"""
