"""Measuring a computation's time and peak memory, each point in a fresh process (so peaks do not mix)."""

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
    torch.manual_seed(0)
    exec(sys.argv[1])                      # setup: makes the inputs and defines run()
    run()                                  # warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    for _ in range(int(sys.argv[2])):
        run()
    seconds = (time.perf_counter() - start) / int(sys.argv[2])
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024}))
""")


def measure(setup: str, *, repeats: int = 3) -> dict[str, float]:
    """Run ``setup`` (which defines ``run()``) in a new Python process; return the mean seconds per ``run()`` and
    the process's peak resident memory in MiB (CPU). The warm-up run already sets most of the peak."""
    result = subprocess.run([sys.executable, "-c", _RUNNER, textwrap.dedent(setup), str(repeats)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def baseline(setup: str) -> dict[str, float]:
    """The same process with ``run()`` doing nothing: what the inputs and the libraries cost alone."""
    return measure(setup + "\nrun = lambda: None\n", repeats=1)
