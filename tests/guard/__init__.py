"""Tests of emulpickle.guard: manifests and hashing."""
