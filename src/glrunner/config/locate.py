"""Line numbers for the keys of a TOML document.

`tomllib` tells where a document is broken but not where a valid document put each value, and a
validation error needs both the key and the line. This scanner walks text that `tomllib` has
already accepted and maps every key path, e.g. ("runners", 1, "docker", "privileged"), to the
1-based line it is written on. Array elements get their index in the path; `[[x]]` tables too.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}#\n]")


@dataclass(frozen=True)
class Header:
    """A `[table]` or `[[array]]` header: its 1-based line and the path it opens."""

    line: int
    path: KeyPath
    array: bool


@dataclass(frozen=True)
class Structure:
    """Where things are in a valid TOML document."""

    lines: dict[KeyPath, int]  # key path -> line of the key
    ends: dict[KeyPath, int]  # key path -> line where its value ends (multi-line arrays/strings)
    headers: tuple[Header, ...]


def locate_keys(text: str) -> dict[KeyPath, int]:
    """Map every key path of a valid TOML document to the line that writes it (first writer wins)."""
    return _Scanner(text).scan()


def scan_structure(text: str) -> Structure:
    scanner = _Scanner(text)
    scanner.scan()
    return Structure(scanner.lines, scanner.ends, tuple(scanner.headers))


def table_at_end(text: str) -> KeyPath:
    """The table that keys appended to valid TOML `text` would go into (for duplicate-key errors)."""
    scanner = _Scanner(text)
    scanner.scan()
    return scanner.table


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of `path`, or of its nearest written ancestor (e.g. an inline table)."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[KeyPath, int] = {}
        self.aot_counts: dict[KeyPath, int] = {}
        self.table: KeyPath = ()
        self.headers: list[Header] = []
        self.ends: dict[KeyPath, int] = {}

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def scan(self) -> dict[KeyPath, int]:
        while True:
            self.skip_space(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            if self.text.startswith("[[", self.pos):
                self.table = self.header(array=True)
            elif self.text[self.pos] == "[":
                self.table = self.header(array=False)
            else:
                self.key_value(self.table)

    def header(self, array: bool) -> KeyPath:
        start = self.pos
        self.pos += 2 if array else 1
        keys = self.keys()
        self.pos += 2 if array else 1
        resolved: KeyPath = ()
        for index, key in enumerate(keys):
            resolved = (*resolved, key)
            is_last = index == len(keys) - 1
            if is_last and array:
                count = self.aot_counts.get(resolved, 0)
                self.aot_counts[resolved] = count + 1
                self.lines.setdefault(resolved, self.line(start))
                resolved = (*resolved, count)
            elif resolved in self.aot_counts:
                resolved = (*resolved, self.aot_counts[resolved] - 1)
            self.lines.setdefault(resolved, self.line(start))
        self.headers.append(Header(self.line(start), resolved, array))
        return resolved

    def key_value(self, table: KeyPath) -> None:
        start = self.pos
        path = (*table, *self.keys())
        for end in range(len(table) + 1, len(path) + 1):
            self.lines.setdefault(path[:end], self.line(start))
        self.skip_space()
        self.pos += 1  # "="
        self.skip_space()
        self.value(path)
        self.ends.setdefault(path, self.line(max(self.pos - 1, 0)))

    def keys(self) -> list[str]:
        keys: list[str] = []
        while True:
            self.skip_space()
            keys.append(self.key())
            self.skip_space()
            if self.pos < len(self.text) and self.text[self.pos] == ".":
                self.pos += 1
                continue
            return keys

    def key(self) -> str:
        ch = self.text[self.pos]
        if ch in "\"'":
            start = self.pos
            self.skip_string()
            raw = self.text[start + 1 : self.pos - 1]
            return raw if ch == "'" else _unescape_basic(raw)
        match = _BARE_KEY.match(self.text, self.pos)
        if match is None:  # cannot happen in a document tomllib accepted
            raise ValueError(f"unexpected character at line {self.line(self.pos)}")
        self.pos = match.end()
        return match.group(0)

    def value(self, path: KeyPath) -> None:
        self.lines.setdefault(path, self.line(self.pos))
        ch = self.text[self.pos]
        if ch in "\"'":
            self.skip_string()
        elif ch == "[":
            self.array(path)
        elif ch == "{":
            self.inline_table(path)
        else:
            match = _SCALAR_END.search(self.text, self.pos)
            self.pos = match.start() if match else len(self.text)

    def array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while True:
            self.skip_space(newlines=True)
            if self.text[self.pos] == "]":
                self.pos += 1
                return
            self.value((*path, index))
            self.skip_space(newlines=True)
            if self.text[self.pos] == ",":
                self.pos += 1
                index += 1

    def inline_table(self, path: KeyPath) -> None:
        self.pos += 1
        while True:
            self.skip_space()
            if self.text[self.pos] == "}":
                self.pos += 1
                return
            self.key_value(path)
            self.skip_space()
            if self.text[self.pos] == ",":
                self.pos += 1

    def skip_string(self) -> None:
        quote = self.text[self.pos]
        if self.text.startswith(quote * 3, self.pos):
            end = self.find_closing(quote * 3, self.pos + 3, escapes=quote == '"')
            self.pos = end + 3
            while self.pos < len(self.text) and self.text[self.pos] == quote and self.pos < end + 5:
                self.pos += 1  # up to two quotes may end a multi-line string's content
            return
        self.pos = self.find_closing(quote, self.pos + 1, escapes=quote == '"') + 1

    def find_closing(self, delimiter: str, pos: int, escapes: bool) -> int:
        while True:
            if escapes and self.text[pos] == "\\":
                pos += 2
                continue
            if self.text.startswith(delimiter, pos):
                return pos
            pos += 1

    def skip_space(self, newlines: bool = False) -> None:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.pos += 1
            elif ch == "#" and newlines:
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return


def _unescape_basic(raw: str) -> str:
    if "\\" not in raw:
        return raw
    return str(tomllib.loads(f'k = "{raw}"')["k"])
