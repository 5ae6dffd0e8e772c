"""Lambda-style handlers of the photo pipeline: thin, keyed by photo, safe to run twice."""
