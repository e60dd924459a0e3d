"""emulpickle's core tests, laid out like the package they test.

``tests/<package>/`` tests ``emulpickle/<package>/`` (machine, emulators,
scanner, cli, formats); ``tests/hostile/`` holds the attack suites that drive
loads, scans, the CLI and the plugins end to end (payloads, bombs, fuzzers);
tests of the public API, the docs and the value classes stay at the top.
Shared code lives in ``tests/helpers/``, imported as ``from helpers import ...``.
"""
