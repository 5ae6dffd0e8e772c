"""The photo pipeline: its ASL definition, its function table and its handlers."""
