"""Conformance harness: run cffi's own test suites against rcffi (see README.md)."""
