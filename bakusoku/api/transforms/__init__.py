"""Signed on-the-fly image transforms: URL options and their bounds, signatures, the disk cache.

The pixels are :mod:`bakusoku.imaging.transform`; the HTTP route is
:mod:`bakusoku.api.routes.transforms`.
"""
