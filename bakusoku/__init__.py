"""bakusoku: blazing-fast photo uploads and reliable photo processing, serverless style."""

__version__ = "0.1.0"
