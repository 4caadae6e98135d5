"""The one exception type a user should see.

Anything raised as ``FastslowError`` is a problem with the user's input or environment: the CLI
prints its message on one line and exits with code 2, without a traceback (unless ``--debug``).
The message must say what is wrong and, where possible, how to fix it.
"""


class FastslowError(Exception):
    """A user-facing error: bad input, missing file, unreachable server."""


class UpstreamError(FastslowError):
    """A model server failed or did not answer in time (``timeout``): not the user's input. The
    reasoning proxy answers it with HTTP 504 (a timeout) or 502 (any other failure)."""

    def __init__(self, message: str, timeout: bool = False):
        super().__init__(message)
        self.timeout = timeout
