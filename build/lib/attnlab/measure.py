"""Time and peak memory of a computation, measured in a fresh Python process (so that peaks do not mix).

On Linux the process's resident-memory high-water mark is reset just before the computation
(``/proc/self/clear_refs``) and read after it (``VmHWM``): the peak counts every allocation made during the run,
torch's and everyone else's, and nothing from imports or set-up. Elsewhere the lifetime peak (``ru_maxrss``) minus
the resident size before the run is reported, which can hide peaks smaller than the import-time one. Used by the
benchmarks in ``bench/`` and by chapters that measure memory; CPU only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_RUNNER = textwrap.dedent("""
    import json, resource, sys, time
    import torch
    import attnlab as al
    from attnlab import local, relative

    def status_kib(field):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

    torch.manual_seed(0)
    exec(sys.argv[1])                                      # setup: makes the inputs and defines run()
    run()                                                  # warm-up (allocator caches, lazy initialisation)
    try:
        before = status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:      # reset the high-water mark to the current size
            f.write("5")
        peak = lambda: status_kib("VmHWM")
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    for _ in range(int(sys.argv[2])):
        run()
    seconds = (time.perf_counter() - start) / int(sys.argv[2])
    print(json.dumps({"seconds": seconds, "peak_mib": (peak() - before) / 1024}))
""")


def measure(setup: str, *, repeats: int = 3) -> dict[str, float]:
    """Run ``setup`` (Python source that defines ``run()``; ``torch``, ``al``, ``local`` and ``relative`` are
    imported) in a new process; return the mean seconds per ``run()`` and the peak resident memory, in MiB, that the
    runs added above what the process held just before them."""
    result = subprocess.run([sys.executable, "-c", _RUNNER, textwrap.dedent(setup), str(repeats)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])
