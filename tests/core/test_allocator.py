import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A model load's temporary (16 MiB, freed) raises glibc's mmap threshold; then forty 2 MiB blocks, each followed
# by a 256 KiB block that stays, are freed: the MiB the process still holds for them is printed.
PROGRAM = """
import ctypes, sys
from apps.core.allocator import limit_heap_retention
if sys.argv[1] == "limited":
    assert limit_heap_retention()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmRSS"))
big = libc.malloc(16 << 20); ctypes.memset(big, 1, 16 << 20); libc.free(big)
before = rss()
blocks, kept = [], []
for _ in range(40):
    block = libc.malloc(2 << 20); ctypes.memset(block, 1, 2 << 20); blocks.append(block)
    small = libc.malloc(256 << 10); ctypes.memset(small, 1, 256 << 10); kept.append(small)
for block in blocks:
    libc.free(block)
print(rss() - before)
"""


def _held_after_freeing(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return int(done.stdout.strip())


def test_blocks_over_the_threshold_are_given_back_when_freed_after_a_big_temporary():
    # given glibc's own policy, then the fixed threshold
    default = _held_after_freeing("default")
    limited = _held_after_freeing("limited")

    # then glibc's raised threshold kept the freed 80 MiB in the heap; the fixed one gave it back
    # (what is left is the 10 MiB of 256 KiB blocks that stay)
    assert default >= 70
    assert limited <= 16
