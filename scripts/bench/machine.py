"""The machine a benchmark runs on: CPU model and flags, cores, load.

Shared by bench_startup.py, bench_compare.py and bench_run.py (imported as
`machine`: Python puts the script's own folder first on sys.path); bench_io
runs it for its header line. Standard library only, so any python3 can run it.
"""

import os
import re
import time
from pathlib import Path

# The flags the bf16 and int8 kernels depend on, in the order they are printed.
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def cpu_info():
    """(CPU model name, the CPU_FLAGS this machine has) from /proc/cpuinfo."""
    model, flags = "unknown CPU", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if m:
            model = m.group(1).strip()
        m = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        if m:
            flags = set(m.group(1).split())
    except OSError:
        pass
    return model, [f for f in CPU_FLAGS if f in flags]


def describe():
    """{"cores", "cpu", "flags"}: the machine as the benchmarks' JSON records it."""
    cpu, flags = cpu_info()
    return {"cores": os.cpu_count(), "cpu": cpu, "flags": flags}


def summary():
    """One line for a report: "N cores, CPU model"."""
    return f"{os.cpu_count()} cores, {cpu_info()[0]}"


def load1():
    """The 1-minute load average."""
    return os.getloadavg()[0]


def busy_cores(seconds=1.0):
    """Cores kept busy by all processes over the next `seconds`, from /proc/stat (None if unreadable).
    Unlike the load average this is not a decaying mean, so work that just ended does not count."""
    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait
    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / max(total1 - total0, 1))


def load_note(res):
    """"1-min load X before, Y after (Z cores busy in the second before)", from a result's
    load1_before, load1_after and busy_cores_before."""
    busy = res["busy_cores_before"]
    return (f"1-min load {res['load1_before']:.2f} before, {res['load1_after']:.2f} after"
            + ("" if busy is None else f" ({busy:.1f} cores busy in the second before)"))


def too_busy(res, threads):
    """Whether other processes kept more than cores - threads + 0.5 cores busy before the run."""
    busy = res["busy_cores_before"]
    return busy is not None and busy > res["machine"]["cores"] - threads + 0.5


if __name__ == "__main__":
    print(summary())  # for bench_io's header
