"""Errors that mean "the user asked for something we cannot do", or "the user stopped us".

The CLI turns a :class:`UserError` into one clear line on stderr and exit code 2, and an
:class:`Interrupted` into one line saying what was kept and exit code 130.
"""


class UserError(Exception):
    """A mistake in the user's input (paths, names, numbers, files), not a bug."""


class Interrupted(BaseException):  # noqa: N818 - it is a stop, not an error
    """A run stopped by Ctrl-C; the message says what was kept and how to continue.

    A ``BaseException`` like :class:`KeyboardInterrupt`, so the ``except Exception``
    handlers that keep a long run going past one bad clip do not swallow it; not a
    ``KeyboardInterrupt``, so the CLI framework does not replace it by a bare exit code.
    """
