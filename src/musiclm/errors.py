"""Errors that mean "the user asked for something we cannot do".

The CLI turns a :class:`UserError` into one clear line on stderr and a non-zero exit;
anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A mistake in the user's input (paths, names, numbers, files), not a bug."""
