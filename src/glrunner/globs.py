"""Path globs as GitLab matches them: `**` crosses directories, `*` and `?` do not, `[...]`, `{a,b}`.

One implementation serves both sides: GitLab's `rules:changes`/`exists` (Ruby's File.fnmatch with
FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB) and the runner's `allowed_images`-style lists (Go's
doublestar); they agree on every construct used here.
"""

from __future__ import annotations

import re
from functools import lru_cache


def glob_match(pattern: str, path: str) -> bool:
    """Does `path` match `pattern` as a whole?"""
    return _glob_regex(pattern).fullmatch(path) is not None


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_translate(pattern))


def _translate(pattern: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                index = end
        elif char == "{":
            end = pattern.find("}", index)
            if end == -1:
                out.append(re.escape(char))
            else:
                options = pattern[index + 1 : end].split(",")
                out.append("(?:" + "|".join(_translate(o) for o in options) + ")")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)
