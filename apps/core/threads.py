"""Thread pools of the numeric libraries: one thread per process unless configured otherwise.

Settings export `OPENBLAS_NUM_THREADS` (and OpenMP's, MKL's) before numpy loads; a library that loaded
before the settings (a script importing numpy first) is limited here, once the apps are ready. The
classifiers multiply one or a few vectors at a time: with two BLAS threads on two cores a routing product
cost 3.5 ms of CPU against 0.14 ms with one (the second thread spins waiting for work), and the turn
workers scale by processes, not threads (docs/scaling.md).
"""

from __future__ import annotations

from django.conf import settings


def limit_numeric_threads() -> None:
    threads = int(getattr(settings, "SWITCHBOARD_NUMERIC_THREADS", 1))
    if threads <= 0:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
