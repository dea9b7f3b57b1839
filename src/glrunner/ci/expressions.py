"""`rules:if` / `only:variables` expressions, evaluated as GitLab does on the server.

Grammar: `||` (lowest) < `&&` < `==` `!=` `=~` `!~`, parentheses; values are `$VAR`, "strings" or
'strings' (no escapes), /regex/flags, `null`, `true`, `false`. Semantics follow Ruby: `&&`/`||`
return an operand (only nil and false are false there), and the statement holds when the result is
"present" (not nil, false, or a blank string). An undefined variable is null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_TOKENS = 100


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", "var", "str", "regex", "null", "bool", "op", "and", "or"
    text: str


_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("(", re.compile(r"\(")),
    (")", re.compile(r"\)")),
    ("var", re.compile(r"\$\{(\w+)\}|\$(\w+)")),
    ("str", re.compile(r"\"(.*?)\"|'(.*?)'")),
    ("regex", re.compile(r"/((?:[^/\\]|\\.)+)/([a-zA-Z]*)")),
    ("null", re.compile(r"null\b")),
    ("bool", re.compile(r"(?:true|false)\b")),
    ("op", re.compile(r"==|!=|=~|!~")),
    ("and", re.compile(r"&&")),
    ("or", re.compile(r"\|\|")),
)


def tokenize(text: str, limit: int = MAX_TOKENS) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return tokens
        if len(tokens) >= limit:
            raise ExpressionError(f"too many tokens (at most {limit})")
        for kind, pattern in _TOKEN_PATTERNS:
            match = pattern.match(text, position)
            if match:
                tokens.append(Token(kind, _token_text(kind, match)))
                position = match.end()
                break
        else:
            hint = "; compare with == or != and match with =~ or !~" if text[position] in "=!<>" else ""
            raise ExpressionError(f"unknown lexeme at {text[position:position + 20]!r}{hint}")


def _token_text(kind: str, match: re.Match[str]) -> str:
    if kind in ("var", "str"):
        return next(g for g in match.groups() if g is not None)
    return match.group(0)


# --- tree -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    kind: str  # "var", "str", "regex", "null", "bool"
    text: str


@dataclass(frozen=True)
class Binary:
    op: str  # "==", "!=", "=~", "!~", "&&", "||"
    left: Node
    right: Node


Node = Literal | Binary


def parse(text: str) -> Node:
    """The expression tree; ExpressionError when `text` is not a valid expression."""
    tokens = tokenize(text)
    if not tokens:
        raise ExpressionError("empty expression")
    parser = _Parser(tokens)
    node = parser.or_expr()
    if parser.position != len(tokens):
        raise ExpressionError(f"unexpected {tokens[parser.position].text!r}")
    return node


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.position += 1
        return token

    def or_expr(self) -> Node:
        node = self.and_expr()
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            node = Binary("||", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.comparison()
        while (token := self.peek()) is not None and token.kind == "and":
            self.take()
            node = Binary("&&", node, self.comparison())
        return node

    def comparison(self) -> Node:
        node = self.primary()
        while (token := self.peek()) is not None and token.kind == "op":
            self.take()
            node = Binary(token.text, node, self.primary())
        return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            node = self.or_expr()
            if self.take().kind != ")":
                raise ExpressionError("missing ')'")
            return node
        if token.kind in ("var", "str", "null", "bool"):
            return Literal(token.kind, token.text)
        if token.kind == "regex":
            compile_pattern(token.text)  # invalid regexes are syntax errors
            return Literal("regex", token.text)
        raise ExpressionError(f"unexpected {token.text!r}")


# --- evaluation ---------------------------------------------------------------------------------

Value = str | bool | None | re.Pattern[str]

_FLAGS = {"i": re.IGNORECASE, "m": re.DOTALL, "s": re.DOTALL, "x": re.VERBOSE}


def compile_pattern(text: str) -> re.Pattern[str]:
    """`/regex/flags` -> compiled regex; ExpressionError when it is not one."""
    match = re.fullmatch(r"/((?:[^/\\]|\\.)+)/([a-zA-Z]*)", text, re.DOTALL)
    if not match:
        raise ExpressionError(f"{text!r} is not a /regular expression/")
    body, flag_letters = match.groups()
    flags = 0
    for letter in flag_letters:
        if letter not in _FLAGS and letter != "U":
            raise ExpressionError(f"unknown regular expression flag {letter!r}")
        flags |= _FLAGS.get(letter, 0)
    try:
        return re.compile(ruby_regex_to_python(body.replace("\\/", "/")), flags)
    except re.error as exc:
        raise ExpressionError(f"invalid regular expression {text}: {exc}") from exc


_RUBY_ESCAPES = {"z": r"\Z", "Z": r"(?=\n?\Z)", "h": "[0-9a-fA-F]", "H": "[^0-9a-fA-F]"}


def ruby_regex_to_python(pattern: str) -> str:
    """The few Ruby/RE2 spellings Python's `re` lacks: \\z, \\Z, \\h, (?<name>...)."""
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if in_class:
                out.append("0-9a-fA-F" if escaped == "h" else char + escaped)
            else:
                out.append(_RUBY_ESCAPES.get(escaped, char + escaped))
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True  # a ']' right after '[' or '[^' is a literal, not the end of the class
            opener = "[^]" if pattern.startswith("[^]", index) else "[]" if pattern.startswith("[]", index) else "["
            out.append(opener)
            index += len(opener)
            continue
        if char == "]" and in_class:
            in_class = False
        elif not in_class and pattern.startswith("(?<", index) and pattern[index + 3 : index + 4] not in ("=", "!"):
            out.append("(?P<")
            index += 3
            continue
        out.append(char)
        index += 1
    return "".join(out)


def evaluate(node: Node, variables: Mapping[str, str]) -> Value:
    if isinstance(node, Literal):
        return _literal(node, variables)
    if node.op == "&&":
        left = evaluate(node.left, variables)
        return evaluate(node.right, variables) if _truthy(left) else left
    if node.op == "||":
        left = evaluate(node.left, variables)
        return left if _truthy(left) else evaluate(node.right, variables)
    left, right = evaluate(node.left, variables), evaluate(node.right, variables)
    if node.op == "==":
        return left == right
    if node.op == "!=":
        return left != right
    found = _matches(left, right)
    if node.op == "=~":
        return bool(found)
    return right is None or not found  # "!~": GitLab treats a null pattern as "does not match"


def _literal(node: Literal, variables: Mapping[str, str]) -> Value:
    if node.kind == "var":
        return variables.get(node.text)
    if node.kind == "str":
        return node.text
    if node.kind == "regex":
        return compile_pattern(node.text)
    if node.kind == "bool":
        return node.text == "true"
    return None


def _matches(text: Value, pattern: Value) -> bool:
    if pattern is None or pattern is False:
        return False
    if isinstance(pattern, str):  # a variable holding "/regex/"
        try:
            pattern = compile_pattern(pattern)
        except ExpressionError:
            return False
    if not isinstance(pattern, re.Pattern):
        return False
    subject = text if isinstance(text, str) else ("" if text is None else str(text).lower())
    return pattern.search(subject) is not None


def _truthy(value: Value) -> bool:
    return value is not None and value is not False


def is_true(text: str, variables: Mapping[str, str]) -> bool:
    """The statement holds; invalid statements are false, as in GitLab."""
    try:
        result = evaluate(parse(text), variables)
    except ExpressionError:
        return False
    if isinstance(result, str):
        return bool(result.strip())
    return result is not None and result is not False


def validate(text: str) -> str | None:
    """None when `text` is a valid expression, else what is wrong."""
    try:
        parse(text)
    except ExpressionError as exc:
        return str(exc)
    return None
