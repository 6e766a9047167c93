"""Numbers written as words: "two hundred" is 200, "twenty five" is 25, 三十 is 30, 两 is 2."""

from __future__ import annotations

_CJK_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
               "七": 7, "八": 8, "九": 9}  # fmt: skip
_CJK_SMALL = {"十": 10, "百": 100, "千": 1000}
_CJK_LARGE = {"万": 10_000, "亿": 100_000_000}
_MULTIPLIERS = {100, 1000, 1_000_000, 1_000_000_000}


def is_cjk_numeral(ch: str) -> bool:
    return ch in _CJK_DIGITS or ch in _CJK_SMALL or ch in _CJK_LARGE


def cjk_numeral_value(run: str) -> str:
    """The value of a run of Chinese numerals ("二十五" → "25", "两" → "2")."""
    total = section = number = 0
    for ch in run:
        if ch in _CJK_DIGITS:
            number = (
                number * 10 + _CJK_DIGITS[ch]
                if number and run[0] not in _CJK_SMALL
                else (_CJK_DIGITS[ch])
            )
        elif ch in _CJK_SMALL:
            section += (number or 1) * _CJK_SMALL[ch]
            number = 0
        else:
            total += (section + number or 1) * _CJK_LARGE[ch]
            section = number = 0
    return str(total + section + number)


def combine_number_words(previous: str, current: str) -> str | None:
    """The value of two adjacent number words ("2", "100" → "200"; "20", "5" → "25"), or
    None when they are two numbers ("5", "6")."""
    try:
        a, b = int(previous), int(current)
    except ValueError:
        return None
    if b in _MULTIPLIERS and a < b:
        return str(a * b)
    if a >= 20 and a < 100 and a % 10 == 0 and 0 < b < 10:
        return str(a + b)
    if (a >= 100 and a % 100 == 0 and b < 100 and (a // 100) % 10 != 0) or (a >= 1000 and b < a):
        return str(a + b)
    return None
