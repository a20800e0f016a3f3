"""Errors a user can meet. Each carries a one-line message that says what went wrong
and, where possible, what to do; the CLI prints it and exits non-zero."""


class TextmineError(Exception):
    """Base class: message is shown to the user as one line."""

    exit_code = 1

    def __str__(self) -> str:  # one line, always
        return " ".join(str(self.args[0] if self.args else self.__class__.__name__).split())


class ParseError(TextmineError):
    """A file could not be parsed into a document (corrupt, encrypted, empty, ...)."""


class UnsupportedFile(ParseError):
    """The file's content is not a format textmine reads."""


class StoreError(TextmineError):
    """The store under --home is missing, locked or damaged."""


class NotFound(TextmineError):
    """A document, passage or entity that was asked for does not exist."""
