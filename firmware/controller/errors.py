"""The one exception a command handler raises to refuse a request; it becomes an error reply."""

# Error codes carried in error replies (docs/protocol.md lists them).
BAD_FRAME = "bad_frame"
BAD_MESSAGE = "bad_message"
UNSUPPORTED_VERSION = "unsupported_version"
UNKNOWN_TYPE = "unknown_type"
BAD_FIELD = "bad_field"
BAD_STATE = "bad_state"
INTERNAL = "internal"


class CommandError(Exception):
    def __init__(self, code, field, message):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message
