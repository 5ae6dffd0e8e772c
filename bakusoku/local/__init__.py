"""The embedded deployment: every part wired together on one machine (``bakusoku up``)."""
