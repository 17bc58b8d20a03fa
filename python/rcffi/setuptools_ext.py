"""Setuptools support (placeholder, completed below)."""
