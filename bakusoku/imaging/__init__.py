"""Image decoding, orientation, print trim and renditions."""
