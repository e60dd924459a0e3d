"""Tests of emulpickle.emulators: the standard-library emulators and their bounds."""
