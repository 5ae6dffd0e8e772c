"""The Amazon States Language engine: parse, validate, execute and persist executions."""
