"""Tests of the scanner (emulpickle.scan) and the disassembler."""
