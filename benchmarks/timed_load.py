"""The timing loop the load benchmarks run in a fresh child process.

:data:`TIMED_LOAD` is the tail of a child script: given ``{expr}`` (an
expression loading ``path``) it times the first load and ``repeat - 1``
more, and prints ``{"best": seconds, "growth": MiB}`` as JSON, where
``growth`` is how much the first load raised the child's peak RSS (VmHWM).
Each benchmark puts its own imports before it.
"""

TIMED_LOAD = """
def hwm():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB -> MiB

path, repeat = sys.argv[1], int(sys.argv[2])
load = lambda: {expr}
gc.collect()
before = hwm()
start = time.perf_counter()
result = load()
times = [time.perf_counter() - start]
growth = hwm() - before
del result
for _ in range(repeat - 1):
    gc.collect()
    start = time.perf_counter()
    result = load()
    times.append(time.perf_counter() - start)
    del result
print(json.dumps({{"best": min(times), "growth": growth}}))
"""
