"""One hand-written pickle per opcode, checked against CPython, by opcode family."""
