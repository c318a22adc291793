"""Page templates: shared fragments are taken in once, and every value is still escaped."""

from __future__ import annotations

from importlib import resources

import pytest

from hotline.config import Config
from hotline.web import pages

STAFF_PAGES = {
    "console.html": "console.js",
    "dispatch.html": "board.js",
    "followups.html": "followups.js",
    "followup_case.html": "followups.js",
}
HOSTILE = '"><script>alert(1)</script>'


def _values(name: str, **given: str) -> dict[str, str]:
    """A value for every placeholder of a page, `given` ones first."""
    names = pages._template(name).get_identifiers()
    return {key: given.get(key, f"value-of-{key}") for key in names} | given


def _body(name: str, config: Config, **given: str) -> str:
    response = pages.render(name, config, **_values(name, **given))
    assert response.text is not None
    return response.text


def test_every_template_renders() -> None:
    """Each page's fragments exist and no include line is left in what is sent."""
    templates = resources.files("hotline.web") / "templates"
    names = [t.name for t in templates.iterdir() if t.name.endswith(".html")]
    pages_only = [name for name in names if not name.startswith("_")]
    assert set(STAFF_PAGES) <= set(pages_only)
    for name in pages_only:
        template = pages._template(name)
        assert template.is_valid(), name
        assert "<!--#include" not in template.template, name


@pytest.mark.parametrize("name", sorted(STAFF_PAGES))
def test_staff_pages_share_head_and_topbar(name: str, config: Config) -> None:
    """A staff page has the shared head, who is signed in, and the logout form, once each,
    with staff.js loaded after i18n.js and before the page's own script."""
    body = _body(name, config, csrf_token="token-123", display_name="王老师")
    assert body.count('<meta name="csrf-token" content="token-123">') == 1
    assert body.count('<input type="hidden" name="csrf_token" value="token-123">') == 1
    assert body.count('<strong id="display-name">王老师</strong>') == 1
    assert body.count('id="lang-switch"') == 1
    order = ["/static/style.css", "/static/i18n.js", "/static/staff.js"]
    order.append("/static/" + STAFF_PAGES[name])
    places = [body.index(src) for src in order]
    assert places == sorted(places)
    assert body.index("</head>") > places[-1]


@pytest.mark.parametrize("name", sorted(STAFF_PAGES))
def test_values_in_fragments_are_escaped(name: str, config: Config) -> None:
    """The CSRF token and the name, which stand in fragments, are escaped like any value."""
    body = _body(name, config, csrf_token=HOSTILE, display_name=HOSTILE)
    assert "<script>alert" not in body
    assert body.count("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;") == 3


def test_a_value_cannot_bring_in_a_fragment(config: Config) -> None:
    """Fragments are put in place before values are: an include line in a value stays text."""
    line = "<!--#include _staff_head.html -->\n"
    body = _body("followups.html", config, display_name=line)
    assert body.count('<meta charset="utf-8">') == 1
    assert "&lt;!--#include _staff_head.html --&gt;" in body


def test_fragments_do_not_nest_and_includes_are_whole_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fragment that includes another, or an include that is not a line of its own, is an
    error when the template is read, not a page with the line left in it."""
    files = {
        "nested.html": "<p>\n<!--#include _outer.html -->\n</p>\n",
        "_outer.html": "<!--#include _inner.html -->\n",
        "_inner.html": "<b>$x</b>\n",
        "inline.html": "<p><!--#include _inner.html --></p>\n",
        "good.html": "<p>\n  <!--#include _inner.html -->\n</p>\n",
    }
    monkeypatch.setattr(pages, "_read", files.__getitem__)
    read = pages._template.__wrapped__
    with pytest.raises(ValueError, match="do not nest"):
        read("nested.html")
    with pytest.raises(ValueError, match="a line of its own"):
        read("inline.html")
    assert read("good.html").substitute(x="1") == "<p>\n<b>1</b>\n</p>\n"
