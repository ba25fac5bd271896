"""The one exception the data package raises for problems a user can fix."""

from src.user_errors import UserError


class DataError(UserError):
    """GLUE data is missing, unreadable or malformed; the message says how to fix it."""
