"""Errors a user can act on. The CLI prints them as one line and exits with code 2."""


class InputError(ValueError):
    """Bad input: a file, table, option or codebook the user can fix."""
