"""Title-casing of person names, independent of the WIT bindings.

``title_case("jOHN o'neil-SMITH")`` gives ``"John O'Neil-Smith"``: every
part of a name separated by whitespace, a hyphen or an apostrophe starts
with a capital and continues in lowercase. A lone letter after an
apostrophe stays lowercase (``"john's"`` gives ``"John's"``), ``Mc``
prefixes keep their second capital (``"mcdonald"`` gives ``"McDonald"``),
and words listed in ``keep_lowercase`` ("van", "de"...) stay lowercase
unless they come first.
"""

import re
from typing import Any, Iterable, List

# Whitespace between words; captured so the original spacing is kept.
_WORDS = re.compile(r"(\s+)")
# Hyphens and apostrophes (straight and typographic) inside a word.
_PARTS = re.compile(r"([-\u2010\u2011'\u2019])")
_APOSTROPHES = ("'", "\u2019")


class OptionsError(ValueError):
    """The plugin's options are wrong; the message says how."""


class Options:
    """The checked options of one plugin instance."""

    def __init__(self, keep_lowercase: Iterable[str] = ()) -> None:
        self.keep_lowercase = frozenset(word.casefold() for word in keep_lowercase)

    @staticmethod
    def parse(options: Any) -> "Options":
        """Checks decoded JSON options: an object whose only key is
        ``keep_lowercase``, a list of words."""
        if options is None:
            return Options()
        if not isinstance(options, dict):
            raise OptionsError("options must be a JSON object")
        unknown = sorted(key for key in options if key != "keep_lowercase")
        if unknown:
            names = ", ".join(f"`{key}`" for key in unknown)
            raise OptionsError(f"unknown option {names}, expected `keep_lowercase`")
        words = options.get("keep_lowercase", [])
        if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
            raise OptionsError("`keep_lowercase` must be a list of words, such as [\"van\", \"de\"]")
        blank = [word for word in words if not word.strip() or _WORDS.search(word.strip())]
        if blank:
            raise OptionsError(f"`keep_lowercase` entries must be single words, got {blank[0]!r}")
        return Options(word.strip() for word in words)


def _capitalize(part: str) -> str:
    """``"sMITH"`` → ``"Smith"``, ``"mcdonald"`` → ``"McDonald"``."""
    lower = part.lower()
    if len(lower) > 2 and lower.startswith("mc"):
        return "Mc" + lower[2].upper() + lower[3:]
    return lower[:1].upper() + lower[1:]


def _title_word(word: str) -> str:
    """Title-cases one word, part by part."""
    pieces: List[str] = _PARTS.split(word)
    out: List[str] = []
    for index, piece in enumerate(pieces):
        if index % 2 == 1:
            out.append(piece)  # a separator
            continue
        after_apostrophe = index > 0 and pieces[index - 1] in _APOSTROPHES
        if after_apostrophe and len(piece) == 1:
            out.append(piece.lower())
        else:
            out.append(_capitalize(piece))
    return "".join(out)


def title_case(text: str, options: Options) -> str:
    """Title-cases a person's name."""
    pieces = _WORDS.split(text)
    out: List[str] = []
    first = True
    for index, piece in enumerate(pieces):
        if index % 2 == 1 or not piece:
            out.append(piece)  # whitespace, or the empty text around it
            continue
        if not first and piece.casefold() in options.keep_lowercase:
            out.append(piece.lower())
        else:
            out.append(_title_word(piece))
        first = False
    return "".join(out)
