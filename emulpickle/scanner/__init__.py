"""The scanner: which globals pickles name, and whether each is known safe."""
