"""Building blocks of the offline `local` model: embeddings, slot extraction, rule helpers.

(`apps.agents.local` is the runtime's FunctionModel wrapper and behaviour registry;
this package holds what behaviours are written with.)
"""
