"""The plain-text rendering of an e-mail's HTML body, so each message is written once.

The message templates use a small, fixed part of HTML, and this is how each part reads as text:

  <p>, <div>, <h1>…<h6>, <ul>, <li>   a paragraph: blank lines around it, its whitespace collapsed
  <br>                                a line break
  <blockquote>                        someone's own words, kept line for line and indented by four spaces
  <a href="URL">label</a>             `label: URL` (just `URL` when the label is the address itself)
  <bdi dir="…">                       its text between Unicode isolates (LRI/RLI … PDI), so a value keeps
                                      its direction in the text as in the HTML (notify/bidi.py)
  <strong>, <em>, <span>, …           their text
  <head>, <style>, <script>           nothing

Entities are decoded, so `&lt;b&gt;` in the HTML is `<b>` in the text.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "tr", "blockquote"})
_HIDDEN = frozenset({"head", "title", "style", "script"})
_QUOTE_INDENT = "    "
_ISOLATE_BY_DIR = {"ltr": "\u2066", "rtl": "\u2067"}
_FIRST_STRONG_ISOLATE, _POP_ISOLATE = "\u2068", "\u2069"  # FSI: a <bdi> without dir decides by its text
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def html_to_text(html: str) -> str:
    """The text of `html`: paragraphs separated by a blank line, ending with one newline."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return parser.text()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._paragraphs: list[str] = []
        self._current: list[str] = []
        self._hidden = 0
        self._quoted = 0
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self._end_paragraph()
            self._quoted += tag == "blockquote"
        elif tag == "br":
            self._current.append("\n")
        elif tag == "bdi":
            self._current.append(_ISOLATE_BY_DIR.get(dict(attrs).get("dir") or "", _FIRST_STRONG_ISOLATE))
        elif tag == "a":
            self._links.append(dict(attrs).get("href"))
            self._current.append("\x00")  # where the link's label starts

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden -= 1
        elif tag in _BLOCKS:
            self._end_paragraph()
            self._quoted -= tag == "blockquote"
        elif tag == "bdi":
            self._current.append(_POP_ISOLATE)
        elif tag == "a" and self._links:
            self._close_link(self._links.pop())

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._current.append(data if self._quoted else _SPACES.sub(" ", data))

    def text(self) -> str:
        self._end_paragraph()
        return "\n\n".join(self._paragraphs) + "\n"

    def _close_link(self, href: str | None) -> None:
        start = len(self._current) - 1 - self._current[::-1].index("\x00")
        label = _SPACES.sub(" ", "".join(self._current[start + 1:])).strip()
        del self._current[start:]
        if not href or label == href:
            self._current.append(label or href or "")
        else:
            self._current.append(f"{label}: {href}" if label else href)

    def _end_paragraph(self) -> None:
        raw = "".join(self._current)
        self._current = []
        if self._quoted:
            lines = raw.strip("\n").split("\n")
            text = "\n".join(f"{_QUOTE_INDENT}{line}".rstrip() for line in lines)
        else:
            text = "\n".join(_SPACES.sub(" ", line).strip(" ") for line in raw.split("\n")).strip("\n")
        if text.strip():
            self._paragraphs.append(text)
