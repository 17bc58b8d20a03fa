"""Use the compiled ``_example`` module (after ``python example_build.py``
or ``pip install .``)."""

from _example import ffi, lib


def main() -> None:
    """Look root up both ways and check the name."""
    p = lib.getpwuid(0)
    assert ffi.string(p.pw_name) == b"root"
    p = lib.get_pw_for_root()
    assert ffi.string(p.pw_name) == b"root"
    print("root is", ffi.string(p.pw_name).decode())


if __name__ == "__main__":
    main()
