"""Every number a report page prints equals its JSON (imported by name: tests/ is on
sys.path through its conftest)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from makegood.reporting.html import fmt, lookup


class Numbers(HTMLParser):
    """Collects (key, value, kind, text) of every element carrying ``data-key``."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict] = []
        self._open: list[dict | None] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("td", "span") and "data-key" in a:
            self._open.append({**a, "text": ""})
        elif tag in ("td", "span"):
            self._open.append(None)

    def handle_endtag(self, tag):
        if tag in ("td", "span") and self._open:
            cell = self._open.pop()
            if cell is not None:
                self.cells.append(cell)

    def handle_data(self, data):
        for cell in self._open:
            if cell is not None:
                cell["text"] += data


def check_numbers(page: str, d: dict) -> Numbers:
    """Assert every ``data-key`` element of ``page`` shows ``fmt`` of its JSON value and
    every numeric table cell is one of them; returns the parsed cells."""
    parser = Numbers()
    parser.feed(page)
    currency = d["meta"]["currency"]
    for cell in parser.cells:
        value = lookup(d, cell["data-key"])
        assert json.loads(cell["data-value"]) == value, cell["data-key"]
        assert cell["text"] == fmt(value, cell["data-kind"], currency), cell["data-key"]
    for tag, attrs in parser.tags:
        classes = attrs.get("class", "").split()
        if tag == "td" and "num" in classes and "iv" not in classes:  # iv: holds two spans
            assert "data-key" in attrs, attrs
    return parser


def section_text(page: str, section_id: str) -> str:
    """The visible text of ``<section id=section_id>`` (scripts and styles left out)."""

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.depth = 0
            self.skip = 0
            self.parts: list[str] = []

        def handle_starttag(self, tag, attrs):
            if self.depth:
                self.depth += tag == "section"
                self.skip += tag in ("script", "style", "svg")
            elif tag == "section" and dict(attrs).get("id") == section_id:
                self.depth = 1

        def handle_endtag(self, tag):
            if self.depth:
                self.skip -= tag in ("script", "style", "svg")
                self.depth -= tag == "section"

        def handle_data(self, data):
            if self.depth and not self.skip:
                self.parts.append(data)

    t = _Text()
    t.feed(page)
    return " ".join(" ".join(t.parts).split())
