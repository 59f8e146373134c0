"""One error handler: domain errors → JSON (API) or an HTML page (web), never a 500 with a trace."""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.errors import AppError

log = logging.getLogger(__name__)

HTTP_ZH = {400: "请求格式错误", 401: "需要登录或有效令牌", 403: "无权访问", 404: "页面或资源不存在",
           405: "不支持的请求方法", 409: "冲突", 413: "上传内容过大", 422: "数据无效", 500: "服务器内部错误"}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _respond(status: int, message: str, errors: list[dict]):
    if wants_json():
        return jsonify({"errors": errors or [{"message": message}]}), status
    try:
        return render_template("error.html", status=status, message=message, errors=errors,
                               title=HTTP_ZH.get(status, "错误")), status
    except Exception:  # templates may be absent in API-only use
        return f"{status} {message}", status


def init_app(app) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError):
        return _respond(exc.status, exc.message, exc.errors)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        message = f"{HTTP_ZH.get(exc.code, '错误')} / {exc.description or exc.name}"
        return _respond(exc.code or 500, message, [{"message": message}])

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        message = "服务器内部错误,已记录 / internal error (logged)"
        return _respond(500, message, [{"message": message}])
