"""Errors a user can cause. The CLI prints their message on one line, without a stack trace."""


class AdlensError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""
