"""``--emit``: the same filter as a short program for NumPy, SciPy, OpenCV or PyTorch."""

from convcli.emit.program import EMIT_LIBRARIES, emit_program

__all__ = ["EMIT_LIBRARIES", "emit_program"]
