"""Tests of emulpickle.formats: the zip and tar readers."""
