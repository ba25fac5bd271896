"""The one exception the data package raises for problems a user can fix."""


class DataError(ValueError):
    """GLUE data is missing, unreadable or malformed; the message says how to fix it."""
