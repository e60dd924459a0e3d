"""Attack suites: hostile payloads, bombs and fuzzers, end to end, mostly in
child processes with a hang guard, a memory cap and a canary file."""
