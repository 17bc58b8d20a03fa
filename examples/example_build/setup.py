"""Packaging for the ``_example`` module: setuptools runs example_build.py
through rcffi's setuptools hook, so ``pip install .`` compiles it."""

from setuptools import setup

setup(
    name="rcffi-example",
    version="0.1",
    py_modules=["use_example"],
    rcffi_modules=["example_build.py:ffibuilder"],
    install_requires=["rcffi"],
)
