#!/usr/bin/env python3
"""Every benchmark, one after the other, on this machine: `make bench`.

    realm.py    a pure call next to the peers (native quickjs-ng, plain Python), cold start
    gas.py      wall time per million gas over the known bombs; metering overhead
    plugins.py  per-swap latency of each plugin vs the same math in plain Python
    fuzz.py     fuzzing throughput, generation vs realm calls

The README's numbers come from this command (on a quiet 2-core VM; rerun to compare).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("realm.py", "gas.py", "plugins.py", "fuzz.py"):
    print(f"\n# benches/{script}\n", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *sys.argv[1:]], check=True)
