"""Time and peak memory of a computation, measured in a fresh Python process (so that peaks do not mix).

CPU: on Linux the process's resident-memory high-water mark is reset just before the computation
(``/proc/self/clear_refs``) and read after it (``VmHWM``): the peak counts every allocation made during the run,
torch's and everyone else's, and nothing from imports or set-up. Elsewhere the lifetime peak (``ru_maxrss``) minus
the resident size before the run is reported, which can hide peaks smaller than the import-time one. glibc's
mmap threshold is fixed at 64 KiB in the child (``MALLOC_MMAP_THRESHOLD_``): otherwise it grows after the first large
free, and whether a repeated run's tensors reuse pages or touch new ones -- 16 or 32 MiB for the same computation --
depends on the allocation history rather than on the computation.
CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus what was allocated before; the
GPU is synchronised before the clock is read. Used by the benchmarks in ``bench/`` and by chapters that measure
memory.

Book: used by chapters 14 (notebooks/14_rnn_conv_attention.ipynb) and 17 (notebooks/17_relative_attention.ipynb).
"""

from __future__ import annotations

import json
import os
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
    device = torch.device(sys.argv[3])
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    exec(sys.argv[1])                                      # setup: makes the inputs and defines run()
    run()                                                  # warm-up (allocator caches, lazy initialisation)
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) / 1024
        peak = lambda: torch.cuda.max_memory_allocated(device) / 1024
    else:
        try:
            before = status_kib("VmRSS")
            with open("/proc/self/clear_refs", "w") as f:  # reset the high-water mark to the current size
                f.write("5")
            peak = lambda: status_kib("VmHWM")
        except OSError:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(int(sys.argv[2])):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": sum(times) / len(times), "times": times, "peak_mib": (peak() - before) / 1024}))
""")


def measure(setup: str, *, repeats: int = 3, device: str = "cpu") -> dict[str, float]:
    """Run ``setup`` (Python source that defines ``run()``; ``torch``, ``al``, ``local``, ``relative`` and
    ``device`` are defined) in a new process; return the mean seconds per ``run()`` (``seconds``), the seconds of
    each run (``times``, for the spread) and the peak memory, in MiB, that the runs added above what the process held
    just before them (resident memory on the CPU, allocated memory on a CUDA ``device``)."""
    result = subprocess.run([sys.executable, "-c", _RUNNER, textwrap.dedent(setup), str(repeats), str(device)],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"})
    return json.loads(result.stdout.strip().splitlines()[-1])
