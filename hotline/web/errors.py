"""Domain errors become HTTP answers here, in one place, as JSON a page can show.

Unexpected exceptions are logged with their type only (their text might carry personal data)
and answered with a plain 500, so a bug never shows a stack trace to a person in crisis.
"""

from __future__ import annotations

import traceback

import structlog
from aiohttp import web

from hotline.contacts import IllegalTransition
from hotline.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from hotline.web.middleware_types import Handler

log = structlog.get_logger(__name__)

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 400}


def error_response(status: int, code: str, message: str, **extra: object) -> web.Response:
    """The JSON body every error answer has."""
    return web.json_response({"error": code, "message": message, **extra}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn domain errors into 4xx JSON and anything unexpected into a safe 500."""
    try:
        return await handler(request)
    except DomainError as exc:
        status = next((s for kind, s in STATUS.items() if isinstance(exc, kind)), 400)
        extra = {"field": exc.field} if isinstance(exc, InvalidInput) and exc.field else {}
        return error_response(status, exc.code, exc.message, **extra)
    except IllegalTransition as exc:
        return error_response(
            409,
            "illegal_transition",
            f"this contact is {exc.current} and cannot become {exc.wanted}",
        )
    except web.HTTPException:
        raise
    except Exception as exc:
        # Where it failed, without the exception's text (it may quote personal data).
        frames = [
            f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}"
            for f in traceback.extract_tb(exc.__traceback__)
        ]
        log.error("unhandled_error", error_type=type(exc).__name__, at=frames[-5:])
        return error_response(500, "internal", "something went wrong; please try again")


def setup_errors(app: web.Application) -> None:
    """Install the error middleware."""
    app.middlewares.append(error_middleware)
