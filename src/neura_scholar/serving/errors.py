"""Every error the service answers, as JSON ``{"error": {"type", "message", ...}}`` with a
stable ``type``; one table maps types to HTTP status codes. Nothing a client sends becomes a
500: validation errors name the field and the problem but never echo the value (a NaN echoed
back would itself break the JSON renderer)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

STATUS = {
    "invalid_request": 422,
    "too_many_items": 422,
    "input_too_long": 422,
    "payload_too_large": 413,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "unsupported_media_type": 415,
    "overloaded": 429,
    "not_ready": 503,
    "internal": 500,
}


class ApiError(Exception):
    """An error with a stable type; ``details`` and ``headers`` go into the response."""

    def __init__(self, type_: str, message: str, details: Any = None, headers: dict[str, str] | None = None) -> None:
        if type_ not in STATUS:
            raise ValueError(f"unknown error type {type_!r}")
        super().__init__(message)
        self.type, self.message, self.details, self.headers = type_, message, details, headers or {}


def error_response(type_: str, message: str, details: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=STATUS[type_], headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, never the offending value."""
    return [{"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
            for error in exc.errors()]  # fmt: skip


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.type, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _field_errors(exc)
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        return error_response("invalid_request", f"{'.'.join(first['loc'])}: {first['msg']}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = {404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type", 413: "payload_too_large"}.get(exc.status_code, "invalid_request")
        return error_response(type_, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        return error_response("internal", f"internal error: {type(exc).__name__}")
