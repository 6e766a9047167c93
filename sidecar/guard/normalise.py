"""Obfuscation signals and decoded views of a text, for a second scan.

``deobfuscate(text, triggers)`` returns the signals it found and the *views* to scan besides
the text itself: the text without zero-width characters, with homoglyphs and full-width letters
mapped to ASCII, with separated letters joined, leetspeak undone; decoded base64 runs that are
text, Unicode tag characters, ``\\uXXXX`` escapes and HTML entities; rot13 and reversed text when
the text asks for decoding. The scanner finds the triggers (:data:`SIGNAL_EXPRESSIONS` and
three regex cues) in its pass; a text without any costs nothing here.

Signals (features of the learned scorer): ``zero_width``, ``unicode_tags``, ``homoglyph``,
``fullwidth``, ``cjk_separated``, ``base64_text``, ``leet``, ``spaced``.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
from collections.abc import Collection

_INVISIBLE = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
# What each obfuscation signal looks like; the scanner runs these (Hyperscan with UTF-8, or re)
# and deobfuscate() transforms only what they found. No look-arounds: both engines agree.
SIGNAL_EXPRESSIONS: dict[str, str] = {
    "zero_width": f"[A-Za-z0-9\u4e00-\u9fff][{_INVISIBLE}]",
    "unicode_tags": "[\U000e0000-\U000e007f]",
    "homoglyph": "[A-Za-z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][A-Za-z]",
    "fullwidth": "[\uff21-\uff3a\uff41-\uff5a]{2}",
    "cjk_separated": "[\u4e00-\u9fff][·・•*\\- ][\u4e00-\u9fff][·・•*\\- ][\u4e00-\u9fff]",
}
_INVISIBLE_RX = re.compile(f"[{_INVISIBLE}]")
_TAGS_RX = re.compile("[\U000e0000-\U000e007f]+")
_CJK_SEPARATOR_RX = re.compile("(?<=[\u4e00-\u9fff])[·・•\\-\\* ](?=[\u4e00-\u9fff])")
_BASE64_RX = re.compile(r"[A-Za-z0-9+/]{20,}={0,2}")
_UNICODE_ESCAPE_RX = re.compile(r"\\u([0-9a-fA-F]{4})")
_SPACED_RX = re.compile(r"\b([A-Za-z]) (?=[A-Za-z]\b)")
_HOMOGLYPHS = str.maketrans(
    "аеорсхіуѕјԁһӏԛԝАВЕКМНОРСТХІЅЈԌαοіνρτυχΑΒΕΗΙΚΜΝΟΡΤΥΧΖ",
    "aeopcxiysjdhlqwABEKMHOPCTXISJGaoivptuxABEHIKMNOPTYXZ",
)
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_LEET = str.maketrans("013457@$", "oieastas")
_MAX_BASE64_RUNS = 8
_MAX_VIEW = 16_384


def _base64_texts(text: str) -> list[str]:
    """Decoded base64 runs that are readable text (not images, keys or random bytes)."""
    found: list[str] = []
    for match in _BASE64_RX.finditer(text):
        run = match.group()
        if len(found) >= _MAX_BASE64_RUNS or len(run) > _MAX_VIEW:
            break
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        printable = sum(ch.isprintable() or ch in "\n\t" for ch in decoded)
        words = decoded.count(" ") + sum("\u4e00" <= ch <= "\u9fff" for ch in decoded)
        if decoded and printable >= 0.95 * len(decoded) and words >= 3:
            found.append(decoded)
    return found


def _unescape_json(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        return chr(int(match.group(1), 16))

    unescaped = _UNICODE_ESCAPE_RX.sub(one, text)
    return unescaped.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def unescape(text: str) -> str:
    """``\\uXXXX`` escapes (JSON written with ``ensure_ascii``) and HTML character references
    decoded; the text itself when it has neither (the common case, two ``in`` tests)."""
    if "\\u" in text:
        text = _unescape_json(text)
    if "&#" in text:
        text = html.unescape(text)
    return text


def deobfuscate(text: str, triggers: Collection[str] = ()) -> tuple[set[str], list[str]]:
    """(signals, views) for the ``triggers`` the scanner found: the names of
    :data:`SIGNAL_EXPRESSIONS`, ``base64_run``, ``leet``, ``spaced``, and ``decode`` when the
    text speaks of rot13 or reversed text. No trigger, no work."""
    signals: set[str] = set()
    views: list[str] = []
    clean = text
    if "unicode_tags" in triggers and _TAGS_RX.search(clean):
        signals.add("unicode_tags")
        views.extend(
            "".join(chr(ord(ch) - 0xE0000) for ch in run) for run in _TAGS_RX.findall(clean)
        )
        clean = _TAGS_RX.sub("", clean)
    if "zero_width" in triggers:
        signals.add("zero_width")
        clean = _INVISIBLE_RX.sub("", clean)
    if "homoglyph" in triggers:
        signals.add("homoglyph")
        clean = clean.translate(_HOMOGLYPHS)
    if "fullwidth" in triggers:
        signals.add("fullwidth")
        clean = clean.translate(_FULLWIDTH)
    if "cjk_separated" in triggers:
        signals.add("cjk_separated")
        clean = _CJK_SEPARATOR_RX.sub("", clean)
    if "leet" in triggers:
        signals.add("leet")
        views.append(clean.translate(_LEET))
    if "spaced" in triggers:
        signals.add("spaced")
        views.append(_SPACED_RX.sub(r"\1", clean).replace("  ", " "))
    if "base64_run" in triggers:
        decoded = _base64_texts(clean)
        if decoded:
            signals.add("base64_text")
            views.extend(decoded)
    if "decode" in triggers:
        views.append(codecs.encode(clean, "rot13"))
        views.append(clean[::-1])
    if clean != text:
        views.insert(0, clean)
    return signals, [view[:_MAX_VIEW] for view in views]
