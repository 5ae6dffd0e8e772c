"""Lambda-style function runtime: handlers, context, worker processes."""
