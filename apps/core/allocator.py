"""glibc's allocator kept from holding on to the big temporary arrays of loading models and of embedding batches.

glibc serves a block over its mmap threshold from a mapping of its own, returned to the system when freed, and
raises that threshold to the largest such block freed (up to 32 MiB). After a process loaded a model (py3langid's
arrays decompressed and restricted, the injection detector's int8 reference de-quantised) or embedded a batch of
long texts, later blocks of that size came from the heap arenas, whose freed space is kept in pieces between live
objects. A fixed threshold stops the raise: blocks over 1 MiB are mapped and given back when freed.

Measured (docs/scaling.md, mem14d): a turn worker after warm-up and 26 turns 290 MiB against 325 (`malloc_trim`
afterwards gave back 35 MiB without it, nothing with it); the process holding the embedding model after 64 long
texts on four threads and 800 turns' texts 437 against 473-511 MiB, the same CPU per encode (at 64 KiB the encode
cost 1 ms more). No Django here: the embedding server's own process (apps.agents.offline.serve) calls it too.
"""

from __future__ import annotations

import contextlib
import ctypes

MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def limit_heap_retention() -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD for this process; False where the allocator is not glibc's."""
    with contextlib.suppress(AttributeError, OSError):
        return bool(ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return False
