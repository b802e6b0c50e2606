"""Characters that show nothing: format characters (bidi overrides and isolates, zero-width spaces and
joiners, the byte order mark), controls, and letters that render blank. A display name keeps none of them,
since they can reverse or disguise what is shown next to it; a message made only of them is empty."""

import unicodedata

# Outside the Cc/Cf categories yet blank: the Hangul fillers, the Braille blank, the combining grapheme
# joiner and the Khmer inherent vowels (the usual fillers of "empty" names and messages).
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5")


def _is_invisible(character: str) -> bool:
    return unicodedata.category(character) in ("Cc", "Cf") or character in _BLANK_CHARACTERS


def without_invisible(text: str) -> str:
    """``text`` without its invisible characters (whitespace stays)."""
    return "".join(character for character in text if not _is_invisible(character))


def shows_nothing(text: str) -> bool:
    """Whether ``text`` is only whitespace and invisible characters."""
    return all(character.isspace() or _is_invisible(character) for character in text)
