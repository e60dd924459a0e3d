"""Tests of the emulpickle command line."""
