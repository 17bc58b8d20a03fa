"""2-D diffusion; C ``evolve`` works in place on numpy arrays.  Needs numpy
(``pip install ".[examples]"`` or ``pip install numpy``).

The C source is given inline to ``ffi.verify(..., extra_compile_args=["-O3"])``
(the compiled module is cached in ``__pycache__`` next to this file).
It is declared with ``double **`` in the cdef and defined with C99
variable-length array parameters (``double in[][Ny]``): Python only passes
the address of each array's data, cast with ``ffi.cast("double**", ...)``.
"""

from __future__ import annotations

import sys
import time
import warnings

try:
    import numpy as np
except ImportError:
    sys.exit('this example needs numpy: pip install numpy (or pip install ".[examples]")')

import rcffi

ffi = rcffi.FFI()
ffi.cdef("void evolve(int Nx, int Ny, double **in, double **out, double D, double dt);")
# The cdef says ``double **`` and the C says ``double (*)[Ny]``: the same
# address, but C calls these pointer types incompatible, and rcffi passes
# the compiler's warning on as a VerificationWarning.  Here the mismatch is
# on purpose (it is the original program's code), so that warning is silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", rcffi.VerificationWarning)
    lib = ffi.verify(
        r"""
    void evolve(int Nx, int Ny, double in[][Ny], double out[][Ny],
                double D, double dt) {
        int i, j;
        double laplacian;
        for (i = 1; i < Nx - 1; i++) {
            for (j = 1; j < Ny - 1; j++) {
                laplacian = in[i+1][j] + in[i-1][j] + in[i][j+1] + in[i][j-1]
                            - 4 * in[i][j];
                out[i][j] = in[i][j] + D * dt * laplacian;
            }
        }
    }
    """,
        # (gcc 14 and later make that warning an error unless it is turned off.)
        extra_compile_args=["-O3", "-Wno-incompatible-pointer-types"],
    )


def evolve(grid, dt, out, D=1.0):
    """One explicit time step from ``grid`` into ``out`` (both C-contiguous
    float64 arrays of the same shape)."""
    nx, ny = grid.shape
    pointer_grid = ffi.cast("double**", grid.ctypes.data)
    pointer_out = ffi.cast("double**", out.ctypes.data)
    lib.evolve(nx, ny, pointer_grid, pointer_out, D, dt)


def run_experiment(num_iterations, shape=(128, 128)):
    """Diffuse a square block of heat; return (seconds, heat at the start,
    final grid)."""
    scratch = np.zeros(shape, dtype=np.double)
    grid = np.zeros(shape, dtype=np.double)
    low, high = int(shape[0] * 0.4), int(shape[0] * 0.5)
    grid[low:high, low:high] = 0.005
    heat = grid.sum()
    start = time.perf_counter()
    for _ in range(num_iterations):
        evolve(grid, 0.1, scratch)
        grid, scratch = scratch, grid
    return time.perf_counter() - start, heat, grid


def numpy_evolve(grid, dt, D=1.0):
    """The same step in numpy, to check the C result."""
    out = grid.copy()
    lap = grid[2:, 1:-1] + grid[:-2, 1:-1] + grid[1:-1, 2:] + grid[1:-1, :-2] - 4 * grid[1:-1, 1:-1]
    out[1:-1, 1:-1] = grid[1:-1, 1:-1] + D * dt * lap
    return out


def main() -> None:
    """Check one step against numpy, then time a run (``500`` steps of a
    512x512 grid, the original program's size, with ``--full``)."""
    rng = np.random.default_rng(0)
    a = rng.random((20, 30))
    b = a.copy()  # evolve() leaves the border of ``out`` untouched
    evolve(a, 0.1, b)
    assert np.allclose(b, numpy_evolve(a, 0.1))
    if "--full" in sys.argv:
        seconds, heat, grid = run_experiment(500, (512, 512))
    else:
        seconds, heat, grid = run_experiment(50)
    # Diffusion conserves heat away from the borders.
    assert abs(grid.sum() - heat) < 1e-9
    print(f"evolve: {seconds:.3f} s, total heat {grid.sum():.6f}")


if __name__ == "__main__":
    main()
