"""The static scanner: which globals a pickle file could reach, and are they safe?"""
