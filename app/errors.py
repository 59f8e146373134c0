"""Domain error types and the one app-wide handler that maps them to HTTP (JSON under /api/, HTML pages
otherwise): every failure a user sees is a status code with a Chinese-first message, never a trace."""

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


class TooMany(AppError):
    """Too many attempts (sign-in throttling); ``retry_after`` seconds go into the Retry-After header."""

    status = 429

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


HTTP_ZH = {400: "请求格式错误", 401: "需要登录或有效令牌", 403: "无权访问", 404: "页面或资源不存在",
           405: "不支持的请求方法", 409: "冲突", 413: "上传内容过大", 415: "不支持的内容类型", 422: "数据无效",
           429: "尝试次数过多", 500: "服务器内部错误"}


def wants_json() -> bool:
    from flask import request

    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _respond(status: int, message: str, errors: list[dict], headers: dict | None = None):
    from flask import jsonify, render_template

    headers = dict(headers or {})
    if wants_json():
        return jsonify({"errors": errors or [{"message": message}]}), status, headers
    try:
        return render_template("error.html", status=status, message=message, errors=errors,
                               title=HTTP_ZH.get(status, "错误")), status, headers
    except Exception:  # noqa: BLE001 - templates may be absent in API-only use
        return f"{status} {message}", status, headers


def init_app(app) -> None:
    import logging

    from werkzeug.exceptions import HTTPException

    log = logging.getLogger("app.errors")

    @app.errorhandler(AppError)
    def _app_error(exc: AppError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        return _respond(exc.status, exc.message, exc.errors, headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        message = f"{HTTP_ZH.get(exc.code, '错误')} / {exc.description or exc.name}"
        headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
        return _respond(exc.code or 500, message, [{"message": message}], headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        message = "服务器内部错误,已记录 / internal error (logged)"
        return _respond(500, message, [{"message": message}])
