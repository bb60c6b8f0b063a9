"""The one rule for text that comes from outside (a link, a file name, an error message).

Such text is shown as text: `html_text` for HTML panes and notifications (the notification
toasts render HTML), `markdown_text` for Markdown panes (HTML escaped and every Markdown
punctuation character backslash-escaped, so no link, image or emphasis can be injected).
Both shorten very long values, so a hostile link cannot flood the page.
"""

from __future__ import annotations

import html
import re

__all__ = ["MAX_CHARS", "html_text", "markdown_text", "shorten"]

MAX_CHARS = 120
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def shorten(value: object, limit: int = MAX_CHARS) -> str:
    """``str(value)`` cut to ``limit`` characters (an ellipsis and the full length appended)."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def html_text(value: object, limit: int = MAX_CHARS) -> str:
    """``value`` as HTML that shows exactly its characters (no tag, no entity survives)."""
    return html.escape(shorten(value, limit), quote=True)


def markdown_text(value: object, limit: int = MAX_CHARS) -> str:
    """``value`` as Markdown that renders as its literal characters."""
    return _MARKDOWN.sub(r"\\\1", html.escape(shorten(value, limit), quote=False))
