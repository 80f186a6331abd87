"""Errors that a study reports to its user as one line, without a traceback."""


class StudyError(Exception):
    """A problem with the user's input or environment (bad option, missing data,
    a locked output directory). The command line prints its message and exits
    with status 2; nothing on disk is changed after it is raised."""
