"""Tests of emulpickle.machine: opcodes, semantics, hash keys, resources."""
