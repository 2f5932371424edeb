"""The one error of bad configuration."""


class ConfigError(Exception):
    """Bad configuration: the message is the one line shown to the operator."""
