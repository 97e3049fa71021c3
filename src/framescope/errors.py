"""Errors a user can act on. The CLI prints them as one line: exit code 2 for bad input, 1 for a
run that stopped for a reason outside the input."""


class InputError(ValueError):
    """Bad input: a file, table, option or codebook the user can fix."""


class RunInterrupted(RuntimeError):
    """The run stopped for a reason outside the input (the dask scheduler was lost); the study
    folder is unchanged. The CLI prints it as one line and exits with code 1."""
