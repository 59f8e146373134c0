"""Domain error types, mapped once to HTTP status codes (see app/api/errors.py)."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error a user may see. ``message`` is Chinese first, English after."""

    status = 400

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or [{"message": message}]


class BadRequest(AppError):
    status = 400


class NotAuthenticated(AppError):
    status = 401


class NotAllowed(AppError):
    status = 403


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class Invalid(AppError):
    status = 422


class DeploymentInvalid(Invalid):
    pass


class FormInvalid(Invalid):
    pass


class TooLarge(AppError):
    status = 413
