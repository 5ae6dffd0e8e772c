"""Command-line interface: bakusoku up, upload, photos."""
