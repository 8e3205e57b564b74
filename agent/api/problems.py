"""Errors as ``application/problem+json`` (RFC 9457): type, title, status, detail, instance.

Every error the API returns has this shape, and none carries a stack trace: expected errors
(bad input, unknown run, missing scope, limits) say what and where; anything unexpected is a
500 whose detail gives a reference to look up in the server's log (the traceback is logged
there, through the redacting log filter). ``type`` is ``urn:marketing-agent:problem:<slug>``;
the README lists the slugs.
"""

from __future__ import annotations

import logging
import secrets
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from agent.loop.llm import ModelConfigError
from agent.loop.sessions import SessionError
from agent.loop.trace import TraceNotFoundError
from tools.errors import DataNotFoundError, DataValidationError, ToolInputError

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:marketing-agent:problem:"


class ProblemError(Exception):
    """An error to answer with a problem document (status, slug, title, detail)."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


def problem_body(
    status: int, slug: str, title: str, detail: str, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The JSON of a problem document."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_response(
    problem: ProblemError, instance: str | None = None
) -> JSONResponse:
    """A problem document as a response, with the error's headers."""
    body = problem_body(
        problem.status, problem.slug, problem.title, problem.detail, instance, **problem.extra
    )
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_MEDIA_TYPE
    )


def as_problem(exc: BaseException) -> ProblemError:
    """The problem an exception stands for (a 500 for anything unexpected, logged here)."""
    if isinstance(exc, ProblemError):
        return exc
    if isinstance(exc, TraceNotFoundError):
        return ProblemError(404, "run-not-found", "Run not found", str(exc))
    if isinstance(exc, SessionError):
        return ProblemError(422, "invalid-session", "Invalid session", str(exc))
    if isinstance(exc, ToolInputError):
        return ProblemError(422, "invalid-input", "Invalid input", str(exc))
    if isinstance(exc, (DataNotFoundError, DataValidationError, ModelConfigError)):
        return ProblemError(
            503, "not-configured", "The shop or the model is not usable", str(exc)
        )
    reference = secrets.token_hex(6)
    logger.error(
        "unexpected %s (reference %s)", type(exc).__name__, reference, exc_info=exc
    )
    return ProblemError(
        500,
        "internal-error",
        "Internal error",
        f"the server hit an unexpected error; its log has the details under reference {reference}",
    )


def validation_problem(errors: Any, prefix: str = "") -> ProblemError:
    """A 422 naming every field that failed validation (the values sent are not echoed)."""
    items = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        where = ".".join(([prefix] if prefix else []) + loc) or "(body)"
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        items.append({"field": where, "message": message})
    detail = "; ".join(f"{i['field']}: {i['message']}" for i in items) or "invalid request"
    return ProblemError(
        422, "invalid-request", "Invalid request", detail, extra={"errors": items}
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem document."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(as_problem(exc), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        phrase = HTTPStatus(status).phrase
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        if status == 404 and detail == phrase:
            detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        slug = phrase.lower().replace(" ", "-").replace("'", "")
        if status == 413:
            slug, phrase = "too-large", "Request too large"
        problem = ProblemError(status, slug, phrase, detail, headers=dict(exc.headers or {}))
        return problem_response(problem, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {k: v for k, v in err.items() if k in ("loc", "msg")} for err in exc.errors()
        ]
        return problem_response(validation_problem(errors), request.url.path)

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    for kind in (
        ProblemError,
        ToolInputError,
        SessionError,
        DataNotFoundError,
        DataValidationError,
        ModelConfigError,
        Exception,
    ):
        app.add_exception_handler(kind, on_problem)
