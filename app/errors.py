"""Domain error types, mapped once to HTTP status codes (see app/api/errors.py)."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error a user may see. ``message`` is Chinese first, English after."""

    status = 400
    # Work to do in a fresh transaction once the failed one was rolled back (e.g. record an incident):
    # called by ``Database.session_scope`` or, where a savepoint swallows the error, by its handler.
    after_rollback = None

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


class StepFailed(Conflict):
    """The engine could not apply a change: nothing of it was saved, an incident on the instance says why."""

    def __init__(self, instance_id: int, element_id: str, detail: str):
        message = (f"流程引擎无法执行此操作,未做任何更改,已记录事故 / the engine could not apply this change; nothing "
                   f"was changed and an incident was opened: {detail}")
        super().__init__(message, [{"message": message, "instance_id": instance_id, "element_id": element_id or None,
                                    "detail": detail}])
        self.instance_id, self.element_id, self.detail = instance_id, element_id, detail


class Invalid(AppError):
    status = 422


class DeploymentInvalid(Invalid):
    pass


class FormInvalid(Invalid):
    pass


class TooLarge(AppError):
    status = 413
