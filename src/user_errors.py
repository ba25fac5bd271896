"""The one base class of every error a user can fix. A leaf module (it imports nothing of kronlab), so every
room raises its own subclass (AdapterError, BackboneError, DataError, ConfigError, NumericsError) and
``src/errors.py`` reports them all without importing the rooms."""


class UserError(ValueError):
    """Settings, files or a model the user can fix; the message says how. The CLI prints it in one line, exit 2."""
