"""The one exception a command handler raises to refuse a request; it becomes an error reply."""

# Error codes carried in error replies (docs/protocol.md lists them).
from controller.tables import (BAD_FRAME, BAD_MESSAGE, UNSUPPORTED_VERSION, UNKNOWN_TYPE, BAD_FIELD,  # noqa: F401
                               BAD_STATE, NOT_READY, INTERNAL)


class CommandError(Exception):
    def __init__(self, code, field, message):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message
