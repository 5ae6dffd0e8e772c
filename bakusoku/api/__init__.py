"""The HTTP API: presigned uploads, photos, executions."""
