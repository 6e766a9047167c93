"""Word lists the cache's normaliser and guards rely on.

FILLERS may be dropped or added without changing what a question asks. The list is deliberately
short: prepositions of direction ("from", "into"), tense ("was", "will"), quantifiers ("all",
"some") and pronouns other than the asker's own are content, because each of them can change the
answer. Anything not listed here must agree between two prompts for a fuzzy hit.
"""

from __future__ import annotations

FILLERS = frozenset(
    [
        "a",
        "an",
        "the",
        "please",
        "pls",
        "plz",
        "kindly",
        "hey",
        "hi",
        "hello",
        "thanks",
        "thank",
        "thx",
        "ty",
        "you",
        "u",
        "can",
        "could",
        "would",
        "me",
        "i",
        "my",
        "im",
        "i'm",
        "tell",
        "know",
        "want",
        "wanna",
        "like",
        "just",
        "quick",
        "question",
        "so",
        "um",
        "uh",
        "uhm",
        "well",
        "ok",
        "okay",
        "actually",
        "basically",
        "really",
        "is",
        "are",
        "am",
        "be",
        "do",
        "does",
        "'s",
        "of",
        "to",
        "explain",
        "describe",
        "give",
        "let",
        "wondering",
        "curious",
    ]
)

# Question words are not fillers: "when" and "where" ask different things. A prompt without any
# ("tell me the capital of France") still matches one with one ("what is the capital...").
INTERROGATIVES = frozenset(["what", "which", "who", "whom", "whose", "when", "where", "why", "how"])

NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nothing",
        "nobody",
        "nowhere",
        "neither",
        "nor",
        "without",
        "except",
        "excluding",
        "exclude",
        "unless",
        "cannot",
        "lack",
        "lacking",
        "non",
    ]
)

# Chinese negation and exclusion markers, compared character by character (非 also appears in
# 非常 "very": that only ever turns a hit into a miss).
CJK_NEGATIONS = frozenset("不没非无未别勿莫否除")

# Politeness and particles removed from Chinese text before characters are compared.
# Longest first, so that "请问" goes before "请".
CJK_FILLER_PHRASES = (
    "我想知道",
    "告诉我",
    "你知道",
    "请问",
    "一下",
    "谢谢",
    "请",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "的",
    "了",
)

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
    "dozen": "12", "half": "0.5", "twice": "2x", "double": "2x", "triple": "3x",
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
    "last": "last",
}  # fmt: skip

CJK_NUMERALS = {
    "零": "0", "〇": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
    "六": "6", "七": "7", "八": "8", "九": "9", "十": "10", "百": "100", "千": "1000",
    "万": "10000", "亿": "100000000", "半": "0.5", "第": "ordinal",
}  # fmt: skip

# Symbols that carry an amount or unit: "$5" and "€5" are different questions.
AMOUNT_SYMBOLS = frozenset("$€£¥₹₽₩%‰°+-±×÷=<>*/^")

# QWERTY neighbours, for telling a slip of the finger from a different word.
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


_ROW_OFFSETS = (0.0, 0.5, 0.75, 1.25)


def _keyboard_neighbours() -> dict[str, frozenset[str]]:
    pos = {ch: (r, c + _ROW_OFFSETS[r]) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    return {
        ch: frozenset(
            o for o, (r2, x2) in pos.items() if o != ch and abs(r2 - r) <= 1 and abs(x2 - x) <= 1
        )
        for ch, (r, x) in pos.items()
    }


KEYBOARD_NEIGHBOURS = _keyboard_neighbours()
