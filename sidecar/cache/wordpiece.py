"""BERT's uncased WordPiece tokenizer, the one all-MiniLM-L6-v2 was trained with, in Python.

Same ids as the ``tokenizers`` library for ``bert-base-uncased``-style vocabularies
(tests/cache/test_semantic.py checks that), at about 3 MB of memory instead of the 27 MB that
loading ``tokenizer.json`` costs: text is cleaned (control characters dropped, whitespace
normalised), CJK characters split apart, lower-cased with accents stripped, split on whitespace
and punctuation, then each word is cut greedily into the longest vocabulary pieces ("##" marks a
piece inside a word); a word longer than 100 characters, or one that cannot be cut, is ``[UNK]``.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

_MAX_WORD = 100


class WordPiece:
    """Token ids of a text: ``[CLS] pieces... [SEP]``, at most ``max_tokens`` in all."""

    def __init__(self, vocab_file: Path, max_tokens: int = 256) -> None:
        with open(vocab_file, encoding="utf-8") as f:
            self.vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
        self.max_tokens = max_tokens
        self.cls, self.sep, self.unk = (self.vocab[t] for t in ("[CLS]", "[SEP]", "[UNK]"))
        self._pieces = lru_cache(maxsize=16384)(self._word_pieces)

    def encode(self, text: str) -> list[int]:
        ids = [self.cls]
        limit = self.max_tokens - 1
        for word in _basic_tokens(text):
            ids.extend(self._pieces(word))
            if len(ids) >= limit:
                del ids[limit:]
                break
        ids.append(self.sep)
        return ids

    def _word_pieces(self, word: str) -> tuple[int, ...]:
        if len(word) > _MAX_WORD:
            return (self.unk,)
        out: list[int] = []
        start = 0
        vocab = self.vocab
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unk,)
            out.append(found)
            start = end
        return tuple(out)


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _basic_tokens(text: str) -> list[str]:
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in
                                        "\t\n\r"):  # fmt: skip
            continue
        if ch in "\t\n\r" or unicodedata.category(ch) == "Zs":
            cleaned.append(" ")
        elif _is_cjk(cp):
            cleaned.append(f" {ch} ")
        else:
            cleaned.append(ch)
    words: list[str] = []
    for word in "".join(cleaned).split():
        word = "".join(
            c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn"
        )
        current: list[str] = []
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(ch)
            else:
                current.append(ch)
        if current:
            words.append("".join(current))
    return words
