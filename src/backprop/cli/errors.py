"""The one exception the command line turns into a one-line message and exit status 2."""


class UserError(Exception):
    """A mistake of the user's: a missing file, a bad option value, mismatched shapes."""
