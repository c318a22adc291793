"""Server-rendered HTML pages: a template per page, values HTML-escaped before substitution.

The pages are static HTML that their own scripts bring to life, so the templates only need
a handful of values (language, CSRF token, who is logged in); `string.Template` is enough
and keeps a template engine out of the dependencies.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from string import Template

from aiohttp import web

from hotline.config import Config


@cache
def _template(name: str) -> Template:
    text = (resources.files("hotline.web") / "templates" / name).read_text("utf-8")
    return Template(text)


def page_language(request: web.Request, config: Config) -> str:
    """The page language: `?lang=` when it names a configured language, else the default."""
    wanted = request.query.get("lang", "")
    if wanted in config.ui.languages:
        return wanted
    if wanted.startswith("en") and "en" in config.ui.languages:
        return "en"
    return config.ui.language


def render(name: str, config: Config, status: int = 200, **values: str) -> web.Response:
    """Render a template with escaped values (and the hotline's names) as an HTML response."""
    values = {"hotline_name_zh": config.name_zh, "hotline_name_en": config.name_en, **values}
    body = _template(name).substitute({k: html.escape(v, quote=True) for k, v in values.items()})
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
