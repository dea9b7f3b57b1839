"""`rules:if` expressions with GitLab's semantics (Ruby truthiness, `present?`, RE2-like regexes)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from glrunner.ci.expressions import Binary, ExpressionError, is_true, parse, tokenize, validate

VARS = {"BRANCH": "main", "EMPTY": "", "TAG": "v1.2.3", "PATTERN": "/^v\\d/", "SPACE": "  ", "NAME": "Feature-X"}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$BRANCH", True),
        ("$EMPTY", False),  # blank is not present
        ("$SPACE", False),
        ("$UNDEFINED", False),
        ('$BRANCH == "main"', True),
        ("$BRANCH == 'main'", True),
        ('$BRANCH != "main"', False),
        ("$UNDEFINED == null", True),
        ("$EMPTY == null", False),
        ('$EMPTY == ""', True),
        ("$TAG =~ /^v\\d+\\.\\d+/", True),
        ("$TAG =~ /^V/", False),
        ("$TAG =~ /^V/i", True),
        ("$NAME !~ /^feature/", True),
        ("$NAME !~ /^feature/i", False),
        ("$UNDEFINED =~ /.*/", True),  # null is matched as ""
        ("$TAG =~ $PATTERN", True),  # a variable holding a /pattern/
        ("$TAG =~ $UNDEFINED", False),
        ("$TAG !~ $UNDEFINED", True),
        ("$TAG =~ $BRANCH", False),  # not a pattern: false, not an error
        ('$BRANCH == "main" && $TAG', True),
        ('$BRANCH == "dev" || $TAG', True),
        ('$BRANCH == "dev" || $EMPTY', False),
        ("$EMPTY || $BRANCH", False),  # Ruby: "" is truthy, so || stops at it, then `present?` fails
        ("$UNDEFINED || $BRANCH", True),
        ('$A == "x" || $BRANCH == "main" && $TAG == "v1.2.3"', True),  # && binds tighter
        ('($A == "x" || $BRANCH == "main") && $TAG == "nope"', False),
        ("${BRANCH} == 'main'", True),
        ("$BRANCH == $BRANCH", True),
        ("true", True),
        ("false", False),
        ("null", False),
        ('"literal"', True),
    ],
)
def test_expressions(expression: str, expected: bool) -> None:
    assert is_true(expression, VARS) is expected


@pytest.mark.parametrize(
    "expression",
    ['$A = "x"', "$A ==", "($A", "$A $B", "&& $A", '"unterminated', "$A =~ /[/", "$A =~ /x/q", ""],
)
def test_invalid_expressions(expression: str) -> None:
    assert validate(expression) is not None
    assert is_true(expression, VARS) is False


def test_token_limit() -> None:
    with pytest.raises(ExpressionError, match="too many tokens"):
        tokenize(" && ".join(["$A"] * 60))


def test_regex_slashes_can_be_escaped() -> None:
    assert is_true("$P =~ /^a\\/b$/", {"P": "a/b"})


# --- properties -----------------------------------------------------------------------------------

names = st.sampled_from(["A", "B", "CI_COMMIT_BRANCH", "X_1"])
# No quotes (strings have no escapes) and no line breaks (Ruby's `.` in GitLab's string lexeme stops there).
plain = st.text(st.characters(blacklist_characters="\"'\\\n\r", blacklist_categories=("Cs", "Zl", "Zp")),
                max_size=12)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= 2 or draw(st.booleans()):
        left = "$" + draw(names)
        kind = draw(st.sampled_from(["var", "eq", "ne", "null"]))
        if kind == "var":
            return left
        if kind == "null":
            return f"{left} == null"
        return f'{left} {"==" if kind == "eq" else "!="} "{draw(plain)}"'
    op = draw(st.sampled_from(["&&", "||"]))
    return f"({draw(expressions(depth + 1))}) {op} ({draw(expressions(depth + 1))})"


@given(expressions(), st.dictionaries(names, plain, max_size=5))
def test_generated_expressions_parse_and_evaluate(expression: str, variables: dict[str, str]) -> None:
    assert validate(expression) is None
    assert isinstance(is_true(expression, variables), bool)


@given(names, plain)
def test_equality_matches_python(name: str, value: str) -> None:
    assert is_true(f'${name} == "{value}"', {name: value}) is True
    assert is_true(f'${name} != "{value}"', {name: value + "x"}) is True
    assert is_true(f'${name} == "{value}"', {}) is False


@given(expressions(), expressions(), st.dictionaries(names, plain, max_size=5))
def test_and_or_follow_boolean_logic_on_comparisons(a: str, b: str, variables: dict[str, str]) -> None:
    """With comparison operands (true/false results), && and || are plain boolean logic.
    (Within GitLab's limit of 100 tokens; longer statements are invalid, hence false.)"""
    left, right = f"({a}) == ({a})", f"({b}) != ({b})"
    assume(len(tokenize(f"{left} || {right}", limit=1000)) <= 100)
    assert is_true(f"{left} && {right}", variables) is False
    assert is_true(f"{left} || {right}", variables) is True


def test_parse_tree_shape() -> None:
    tree = parse('$A == "1" || $B && $C')
    assert isinstance(tree, Binary) and tree.op == "||"
    assert isinstance(tree.right, Binary) and tree.right.op == "&&"


@pytest.mark.parametrize(
    ("expression", "value", "expected"),
    [
        ("$V =~ /\\A[0-9]+-[0-9]+-stable\\z/", "16-3-stable", True),  # Ruby's \A...\z anchors
        ("$V =~ /\\A[0-9]+-[0-9]+-stable\\z/", "16-3-stable\n", False),
        ("$V =~ /stable\\Z/", "16-3-stable\n", True),  # Ruby's \Z allows a final newline
        ("$V =~ /^[\\h]+$/", "c0ffee", True),  # \h: a hex digit
        ("$V =~ /(?<major>\\d+)\\.(?<minor>\\d+)/", "v1.2", True),  # Ruby named groups
        ("$V =~ /(?<!x)y/", "ay", True),  # lookbehind is not a named group
    ],
)
def test_ruby_regex_spellings(expression: str, value: str, expected: bool) -> None:
    assert validate(expression) is None
    assert is_true(expression, {"V": value}) is expected
