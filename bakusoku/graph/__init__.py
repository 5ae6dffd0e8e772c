"""The map of the system: what triggers what, read from the stack's template, drawn and measured."""
