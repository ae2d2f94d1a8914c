"""Holdtype: hold a key, speak, let go; your words appear where the cursor is."""

__version__ = "0.1.0"
