# Runs under the micropython binary as the interpreter of an emulated board at its REPL
# (host/hipec/emulator/repl_device.py):
# executes each code block it is sent (4-byte big-endian length, then the code) in one persistent
# namespace, with the working directory as the board's filesystem. After each block it writes what the
# raw REPL writes: the block's output, 0x04, the exception if any, 0x04.
import sys

RESET_EXIT = 77


class _Machine:
    """The unix port has no machine module: reset() ends this interpreter, the device reboots."""

    @staticmethod
    def reset():
        sys.exit(RESET_EXIT)

    @staticmethod
    def soft_reset():
        sys.exit(RESET_EXIT)


sys.modules["machine"] = _Machine
namespace = {"__name__": "__main__"}
source = sys.stdin.buffer
out = sys.stdout
while True:
    head = source.read(4)
    if not head or len(head) < 4:
        break
    code = source.read(int.from_bytes(head, "big"))
    error = None
    try:
        exec(code, namespace)
    except SystemExit:
        raise
    except BaseException as exc:  # the raw REPL reports every exception after the first 0x04
        error = exc
    out.write("\x04")
    if error is not None:
        sys.print_exception(error, out)
    out.write("\x04")
