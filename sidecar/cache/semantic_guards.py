"""Guards of the semantic tier: what an embedding cannot be trusted to see.

An embedding puts "Can I take aspirin with alcohol?" and "...without alcohol?" at 0.97, "5 miles"
and "5 km" at 0.94, "my invoices" and "the invoices" at 0.90, "weather today" and "weather
tomorrow" at 0.95. So a semantic candidate must pass the guards the tiers share (numbers, units,
negation, entities, user scope, literals, argument roles: :mod:`sidecar.cache.guards`), with
negation compared by polarity (无法 and 不能 are both "cannot"), and two of its own:

- ``question``: the specific question words (when, where, who, why; 哪里, 什么时候, 为什么, 谁)
  agree when both prompts have one; "what" and "how" may stand for any of them ("Why does it
  overheat?" is "What makes it overheat?").
- ``topic``: other words may differ ("How tall is Everest?" / "What is the height of Everest?")
  unless a differing word belongs to a closed class whose members exclude each other (days,
  months, today / tomorrow, directions, colours, quantifiers, levels, diets: "weather today" is not
  "weather tomorrow"), no Chinese character differs but function characters, and a small
  difference (two words or fewer, or one stretch of words replaced in an otherwise equal
  prompt: where a co-hyponym swap such as "boiling" / "freezing point" or "for an expert" /
  "for a beginner" hides) needs a sentence similarity of at least ``SMALL_CHANGE_SIMILARITY``
  instead of the tier's threshold.
"""

from __future__ import annotations

from sidecar.cache.guards import SHARED_GUARDS, Guard, KnownWord
from sidecar.cache.text import Analysis

SMALL_CHANGE_SIMILARITY = 0.92
_SPECIFIC_QUESTIONS = {"when": "when", "where": "where", "who": "who", "whom": "who",
                       "whose": "who", "why": "why"}  # fmt: skip
_CJK_QUESTIONS = {"哪": "where", "时候": "when", "为什么": "why", "为何": "why", "谁": "who"}
_EXCLUSIONS = frozenset(["without", "except", "excluding", "exclude", "unless", "除"])

CLOSED_CLASSES: tuple[frozenset[str], ...] = tuple(
    frozenset(words.split())
    for words in (
        "monday tuesday wednesday thursday friday saturday sunday weekday weekend",
        "january february march april may june july august september october november december",
        "today tomorrow yesterday tonight morning afternoon evening night noon midnight",
        "spring summer autumn fall winter",
        "north south east west northern southern eastern western left right",
        "red orange yellow green blue purple pink brown black white grey gray",
        "all some any most few many several only both either none",
        "male female men women man woman boy girl boys girls",
        "breakfast lunch dinner brunch",
        "small medium large tiny huge",
        "new old",
        "beginner novice intermediate advanced expert professional amateur junior senior",
        "vegan vegetarian pescatarian keto paleo halal kosher",
        "今 明 昨 前 后 早 晚 午 夜 周 年 月 日 号",
        "东 南 西 北 左 右",
        "红 黄 蓝 绿 黑 白 紫",
        "男 女",
        "曾 将 会 过",
        "所 全 每 各 些",
    )
)
CLOSED_CLASS_WORDS = frozenset().union(*CLOSED_CLASSES)
# all-MiniLM-L6-v2 reads Chinese as characters: 茶 and 牛奶 (tea, milk) in one sentence score 0.99.
# So in Chinese only function characters may differ (怎么样 / 如何, 可以 / 能, 哪里 / 什么地方).
CJK_FUNCTION_CHARS = frozenset(
    "怎么样如何什哪里儿地方能可以会要想是否为有吗呢的了该应需得把被让请帮些点呀啊吧哦就都也还"
    "才又再很常太较吧嘛呗啦着过查看显示列询算换等于"
)
# Verbs that only frame a request ("Find flights..." / "Show me flights...", "Calculate the
# square root..." / "What is the square root..."): the semantic tier lets them differ.
FRAMING_WORDS = frozenset(
    [
        "find",
        "show",
        "list",
        "get",
        "give",
        "tell",
        "calculate",
        "compute",
        "determine",
        "convert",
        "display",
        "fetch",
        "search",
        "look",
        "provide",
        "identify",
        "check",
        "see",
        "view",
        "need",
        "want",
        "lookup",
        "retrieve",
        "work",
        "out",
        "figure",
    ]
)


def _polarity(a: Analysis) -> tuple[int, int]:
    exclusions = sum(1 for n in a.negations if n in _EXCLUSIONS)
    return len(a.negations) - exclusions, exclusions


def _negation(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    from sidecar.cache.guards import has_antonym

    return _polarity(query) == _polarity(cand) and not (
        has_antonym(query, cand) or has_antonym(cand, query)
    )


def _questions(a: Analysis) -> frozenset[str]:
    found = {_SPECIFIC_QUESTIONS[w] for w in a.interrogatives if w in _SPECIFIC_QUESTIONS}
    if any(not u.isascii() for u in a.content):
        text = "".join(a.content)
        found.update(q for marker, q in _CJK_QUESTIONS.items() if marker in text)
    return frozenset(found)


def _question(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    q, c = _questions(query), _questions(cand)
    return not (q and c) or q == c


def _topic_words(a: Analysis) -> set[str]:
    words = set(a.words) - FRAMING_WORDS
    if "how" in a.interrogatives:
        words -= {"many", "much"}  # "how many" asks a number, like "what is"
    return words


def differing_words(query: Analysis, cand: Analysis) -> tuple[set[str], set[str]]:
    """The content words (or characters) only the query has, and only the candidate has;
    framing verbs ("find", "show", "calculate") and the "many" of "how many" aside."""
    q, c = _topic_words(query), _topic_words(cand)
    return q - c, c - q


def topic_agrees(query: Analysis, cand: Analysis, similarity: float) -> bool:
    """The ``topic`` guard, which also needs the sentence similarity of the two prompts."""
    only_q, only_c = differing_words(query, cand)
    differing = only_q | only_c
    if any(w in CLOSED_CLASS_WORDS for w in differing):
        return False
    if any(not w.isascii() and w not in CJK_FUNCTION_CHARS for w in differing):
        return False
    changed = len(only_q) + len(only_c)
    if 0 < changed <= 2 or (changed and _one_span_replaced(_framed(query), _framed(cand))):
        return similarity >= SMALL_CHANGE_SIMILARITY
    return True


def _framed(a: Analysis) -> tuple[str, ...]:
    return tuple(u for u in a.content if u not in FRAMING_WORDS)


def _one_span_replaced(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """The prompts are equal but for one stretch of words: a slot filled differently ("for an
    expert" / "for a high school student"), the shape of a near-miss, not of a rewording."""
    from difflib import SequenceMatcher

    ops = [
        op for op in SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"
    ]
    return len(ops) == 1


def _topic_needs_similarity(query: Analysis, cand: Analysis, known: KnownWord) -> bool:
    return True  # checked by :func:`topic_agrees`, which also needs the similarity


TOPIC = Guard("topic", _topic_needs_similarity)
SEMANTIC_GUARDS: tuple[Guard, ...] = (
    *(g for g in SHARED_GUARDS if g.name != "negation"),
    Guard("negation", _negation),
    Guard("question", _question),
    TOPIC,
)
