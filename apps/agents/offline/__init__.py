"""Building blocks of the offline `local` model: embeddings and slot extraction.

(`apps.agents.local` is the runtime's FunctionModel wrapper and behaviour registry;
this package holds what behaviours are written with.)
"""
