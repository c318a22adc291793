"""Server-rendered HTML pages: a template per page, values HTML-escaped before substitution.

The pages are static HTML that their own scripts bring to life, so the templates only need
a handful of values (language, CSRF token, who is logged in); `string.Template` is enough
and keeps a template engine out of the dependencies.

What several pages share (the staff pages' head, the logout form) is a fragment, a template
file whose name starts with `_`, that a page takes in with a line of its own:
`<!--#include _staff_head.html -->`. Fragments are put in place when the template is read,
before any value is substituted, so a value can never bring one in, and every value in a
fragment is escaped like the page's own. A fragment does not include another.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from string import Template

from aiohttp import web

from hotline.config import Config

# The whole line, so the fragment stands where the line stood with its own indentation.
_INCLUDE = re.compile(r"^[ \t]*<!--#include (?P<name>_[a-z_]+\.html) -->[ \t]*\n", re.MULTILINE)


def _read(name: str) -> str:
    return (resources.files("hotline.web") / "templates" / name).read_text("utf-8")


def _fragment(name: str) -> str:
    text = _read(name)
    if "<!--#include" in text:
        raise ValueError(f"template fragment {name} includes another; fragments do not nest")
    return text


@cache
def _template(name: str) -> Template:
    text = _INCLUDE.sub(lambda found: _fragment(found["name"]), _read(name))
    if "<!--#include" in text:
        raise ValueError(f"template {name}: an include must be a line of its own")
    return Template(text)


def page_language(request: web.Request, config: Config) -> str:
    """The page language: `?lang=` when it names a configured language, else the default."""
    wanted = request.query.get("lang", "")
    if wanted in config.ui.languages:
        return wanted
    if wanted.startswith("en") and "en" in config.ui.languages:
        return "en"
    return config.ui.language


def render(
    name: str,
    config: Config,
    status: int = 200,
    *,
    markup: Mapping[str, str] | None = None,
    **values: str,
) -> web.Response:
    """Render a template with escaped values (and the hotline's names) as an HTML response.

    `markup` holds values that are already HTML, built by code that escaped every piece of
    text in them (the statistics page's server-drawn charts and tables); they go in as is.
    """
    values = {"hotline_name_zh": config.name_zh, "hotline_name_en": config.name_en, **values}
    escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
    body = _template(name).substitute({**escaped, **(markup or {})})
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
