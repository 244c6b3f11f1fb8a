"""MicroPython's `micropython` module as far as the firmware uses it, for CPython: the firmware runs under
CPython too (the tests' [cpython] items, the in-process benches, the host's reading of its tables).
Only const(), which MicroPython's compiler folds into the bytecode (a name starting with an underscore
then takes no memory on the board at all) and which is the value itself here."""
from typing import TypeVar

T = TypeVar("T")


def const(value: T) -> T:
    return value
