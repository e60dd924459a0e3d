"""Code the tests share: pickle builders, strategies, harnesses, paths.

pytest puts ``tests/`` on ``sys.path`` (``pythonpath`` in pyproject.toml), so
every test, the plugins' included, imports these as ``from helpers import
pickle_bytes as pb``. Nothing here is a test module, and no test module
imports another one: what two test modules need goes here.
"""
