"""The unpickling machine: opcodes, the loop that runs them, and their semantics."""
