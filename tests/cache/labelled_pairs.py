"""A labelled set of prompt pairs for the semantic cache: (stored, asked, same_answer, category).

``same_answer`` is True when the stored answer is a correct answer to the asked prompt. The set
mixes pairs built from varied templates (paraphrase by fillers, case and punctuation, typos,
clause moves; entity swaps, number changes, negations, unit changes) with hand-written pairs,
Chinese text and JSON tool calls. Positives include true paraphrases with different wording,
which a precision-first cache is expected to miss: they count against recall, not precision.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Pair(NamedTuple):
    stored: Any
    asked: Any
    same: bool
    category: str


# (template, fillers of {x}); every template yields fillers/case/typo positives and swap negatives.
_TEMPLATES: list[tuple[str, list[str]]] = [
    ("What is the capital of {x}?", ["France", "Spain", "Australia", "Canada", "Norway"]),
    ("How do I reverse a list in {x}?", ["Python", "JavaScript", "Haskell", "Kotlin"]),
    ("Who wrote the novel {x}?", ["Middlemarch", "Dracula", "Frankenstein", "Beloved"]),
    ("What is the population of {x} today?", ["Toronto", "Melbourne", "Barcelona", "Chicago"]),
    ("Summarise the plot of {x} in three sentences", ["Hamlet", "Macbeth", "Othello"]),
    ("What are the side effects of {x}?", ["ibuprofen", "paracetamol", "metformin", "aspirin"]),
    ("How do I install {x} on Ubuntu?", ["docker", "postgresql", "nginx", "redis"]),
    ("What is the exchange rate between the dollar and the {x}?", ["euro", "yen", "pound"]),
    ("Which ocean is next to {x}?", ["Portugal", "Chile", "Japan", "Madagascar"]),
    ("What time zone is {x} in?", ["Denver", "Lisbon", "Jakarta", "Nairobi"]),
    ("Explain how {x} works", ["photosynthesis", "refraction", "inflation", "vaccination"]),
    ("What is the boiling point of {x}?", ["water", "ethanol", "mercury", "nitrogen"]),
    ("Recommend a good book about {x}", ["gardening", "astronomy", "economics", "sailing"]),
    ("What is the weather forecast for {x} tomorrow?", ["Berlin", "Madrid", "Seattle"]),
    ("Translate good morning into {x}", ["German", "Italian", "Portuguese", "Swedish"]),
]

_PREFIXES = ["Hey, ", "Please tell me: ", "Quick question - ", "Could you tell me ", "hi! "]
_SUFFIXES = [" please", " thanks!", "?? thank you", "", " pls"]


def _typo(text: str, seed: int) -> str:
    """Swap two inner letters of one long word (deterministic by ``seed``)."""
    words = text.split()
    longs = [i for i, w in enumerate(words) if len(w.strip("?,.!")) >= 7 and w.isalpha()]
    if not longs:
        return text
    i = longs[seed % len(longs)]
    w = words[i]
    j = 2 + seed % (len(w) - 4)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _template_pairs() -> list[Pair]:
    pairs: list[Pair] = []
    n = 0
    for template, fills in _TEMPLATES:
        for k, x in enumerate(fills):
            base = template.format(x=x)
            n += 1
            prefix, suffix = _PREFIXES[n % len(_PREFIXES)], _SUFFIXES[n % len(_SUFFIXES)]
            pairs.append(Pair(base, prefix + base.rstrip("?") + suffix, True, "fillers"))
            pairs.append(Pair(base, base.lower().rstrip("?").replace(",", ""), True, "case_punct"))
            typo = _typo(base, n)
            if typo != base:
                pairs.append(Pair(base, typo, True, "typo"))
            other = fills[(k + 1) % len(fills)]
            pairs.append(Pair(base, template.format(x=other), False, "entity_swap"))
            pairs.append(
                Pair(base.lower(), template.format(x=other).lower(), False, "entity_swap_lower")
            )
    return pairs


# (template with {n}, two different numbers) -> number change negatives and filler positives.
_NUMBER_TEMPLATES = [
    ("Convert {n} kilometres to miles", "12", "21"),
    ("What is {n} percent of 250?", "15", "50"),
    ("How many calories are in {n} grams of cooked rice?", "100", "150"),
    ("Set a timer for {n} minutes", "5", "15"),
    ("What is the square root of {n}?", "144", "169"),
    ("Book a table for {n} people at 7pm", "4", "6"),
    ("What happened in the year {n}?", "1969", "1989"),
    ("Is {n} a prime number?", "91", "97"),
    ("What is the sales tax on ${n}?", "100", "1000"),
    ("How long does it take to walk {n} km?", "3", "30"),
    ("Show me order number {n}", "A-1042", "A-1043"),
    ("Schedule the meeting on {n}", "2024-03-05", "2024-03-06"),
    ("What is the 10-day forecast for zip code {n}?", "94103", "94107"),
    ("Convert {n} degrees Celsius to Fahrenheit", "37", "-37"),
    ("How much is {n} in dollars?", "€50", "£50"),
    ("Explain error code {n}", "E404", "E403"),
    ("What is 3 plus {n}?", "4", "5"),
    ("Give me {n} ideas for a birthday party", "five", "ten"),
]


def _number_pairs() -> list[Pair]:
    pairs: list[Pair] = []
    for template, a, b in _NUMBER_TEMPLATES:
        stored = template.format(n=a)
        pairs.append(Pair(stored, template.format(n=b), False, "number_change"))
        pairs.append(Pair(stored, "please, " + stored.lower(), True, "fillers"))
    return pairs


_HAND: list[Pair] = [
    # negations and exclusions
    Pair(
        "Which fruits are high in vitamin C?",
        "Which fruits are not high in vitamin C?",
        False,
        "negation",
    ),
    Pair(
        "Can I take ibuprofen with alcohol?",
        "Can I not take ibuprofen with alcohol?",
        False,
        "negation",
    ),
    Pair(
        "List countries in Europe that use the euro",
        "List countries in Europe that don't use the euro",
        False,
        "negation",
    ),
    Pair("Recipes with peanuts", "Recipes without peanuts", False, "negation"),
    Pair("All EU members", "All EU members except Germany", False, "negation"),
    Pair(
        "Should I ever reboot the server during deploys?",
        "Should I never reboot the server during deploys?",
        False,
        "negation",
    ),
    Pair(
        "Is the museum open on Mondays?", "Is the museum isn't open on Mondays?", False, "negation"
    ),
    Pair(
        "Does this plan include roaming?", "Doesn't this plan include roaming?", False, "negation"
    ),
    Pair(
        "Which cities have a metro system?", "Which cities have no metro system?", False, "negation"
    ),
    Pair("Show all users including admins", "Show all users excluding admins", False, "negation"),
    Pair("What can I eat when pregnant?", "What can't I eat when pregnant?", False, "negation"),
    Pair("What cannot be recycled?", "What can be recycled?", False, "negation"),
    # units
    Pair("Convert 5 km to miles", "Convert 5 miles to km", False, "unit_change"),
    Pair("Convert 100 °C to kelvin", "Convert 100 °F to kelvin", False, "unit_change"),
    Pair("How heavy is 2 kg of feathers?", "How heavy is 2 lb of feathers?", False, "unit_change"),
    Pair("What is 10 GB in MB?", "What is 10 GiB in MB?", False, "unit_change"),
    Pair("Price of 1 litre of milk", "Price of 1 gallon of milk", False, "unit_change"),
    Pair("Run 5 km in under 30 minutes", "Run 5 km in under 30 seconds", False, "unit_change"),
    Pair("How many ounces in 3 cups?", "How many grams in 3 cups?", False, "unit_change"),
    Pair("What is 20% of 80?", "What is 20 of 80?", False, "unit_change"),
    Pair("Convert $20 to euros", "Convert €20 to euros", False, "unit_change"),
    Pair("Rent is 1200 per month", "Rent is 1200 per week", False, "unit_change"),
    # direction, order, roles
    Pair(
        "Flights from Paris to London on Friday",
        "Flights from London to Paris on Friday",
        False,
        "order",
    ),
    Pair("Convert USD to EUR", "Convert EUR to USD", False, "order"),
    Pair("Is a dolphin bigger than a shark?", "Is a shark bigger than a dolphin?", False, "order"),
    Pair("Did Alice send money to Bob?", "Did Bob send money to Alice?", False, "order"),
    Pair("train from boston to new york", "train from new york to boston", False, "order"),
    Pair("How do I sort a list in Python?", "In Python, how do I sort a list?", True, "reorder"),
    Pair("What is the capital of France?", "France: what is the capital?", True, "reorder"),
    Pair("Best hiking trails near Denver", "Near Denver, best hiking trails", True, "reorder"),
    Pair(
        "How do I merge two dictionaries in Python",
        "in python how do I merge two dictionaries",
        True,
        "reorder",
    ),
    # question word, tense, quantifier
    Pair(
        "When was the Eiffel Tower built?",
        "Where was the Eiffel Tower built?",
        False,
        "question_word",
    ),
    Pair("Why is the sky blue?", "How is the sky blue?", False, "question_word"),
    Pair("Who is the president of France?", "Who was the president of France?", False, "tense"),
    Pair("Who will win the election?", "Who won the election?", False, "tense"),
    Pair(
        "List all prime numbers below 50", "List some prime numbers below 50", False, "quantifier"
    ),
    Pair(
        "What is the tallest mountain in Africa?",
        "What is the second tallest mountain in Africa?",
        False,
        "number_change",
    ),
    Pair(
        "What is the cheapest flight to Rome?",
        "What is the fastest flight to Rome?",
        False,
        "entity_swap_lower",
    ),
    Pair(
        "What is the weight of an adult elephant?",
        "What is the height of an adult elephant?",
        False,
        "entity_swap_lower",
    ),
    Pair("Is Iran in the Middle East?", "Is Iraq in the Middle East?", False, "entity_swap"),
    Pair(
        "what is the capital of austria",
        "what is the capital of australia",
        False,
        "entity_swap_lower",
    ),
    Pair("Who is Mark Jansen?", "Who is Mark Janssen?", False, "entity_swap"),
    Pair("What did Jane Austen write?", "What did Jane Austin write?", False, "entity_swap"),
    Pair(
        "Summarise https://example.com/articles/introduction",
        "Summarise https://example.com/articles/introductions",
        False,
        "entity_swap",
    ),
    Pair("What does os.path.join do?", "What does os.path.split do?", False, "entity_swap"),
    Pair(
        "Explain the function getUserById",
        "Explain the function getUserByName",
        False,
        "entity_swap",
    ),
    Pair(
        "Send the report to alice@example.com",
        "Send the report to alicia@example.com",
        False,
        "entity_swap",
    ),
    Pair('Search for "red shoes"', 'Search for "red shoe"', False, "entity_swap"),
    Pair("What is C++ used for?", "What is C# used for?", False, "entity_swap"),
    Pair("what is c used for", "what is c++ used for", False, "entity_swap_lower"),
    Pair("What is the price of an apple?", "What is the price of Apple?", False, "entity_swap"),
    # paraphrases a precision-first cache may miss (count against recall)
    Pair(
        "How do I reverse a list in Python?",
        "What's the way to invert a Python list?",
        True,
        "synonym",
    ),
    Pair("What is the capital of France?", "Which city is France's capital?", True, "synonym"),
    Pair("How tall is Mount Everest?", "What is the height of Mount Everest?", True, "synonym"),
    Pair("Tell me a joke about cats", "Make me laugh with a cat joke", True, "synonym"),
    Pair("How do I bake sourdough bread?", "Sourdough bread baking instructions", True, "synonym"),
    # fillers and typos, hand-written
    Pair("What's the capital of France?", "what is the capital of france", True, "fillers"),
    Pair("How do I reset my password?", "hey, how do i reset my password please", True, "fillers"),
    Pair(
        "What is the boiling point of water at sea level?",
        "What is the boiling point of water at sea level",
        True,
        "case_punct",
    ),
    Pair(
        "What is the boiling point of water at sea level?",
        "WHAT IS THE BOILING POINT OF WATER AT SEA LEVEL",
        True,
        "case_punct",
    ),
    Pair("Explain quantum entanglement simply", "Explain quantum entanglment simply", True, "typo"),
    Pair(
        "What are the symptoms of dehydration?",
        "What are the symtpoms of dehydration?",
        True,
        "typo",
    ),
    Pair(
        "Recommend a restaurant in Barcelona", "Recommend a restuarant in Barcelona", True, "typo"
    ),
    Pair("How does the immune system work?", "How does the immune sytsem work?", True, "typo"),
    Pair("Describe the French Revolution", "Describe the French Revoluton", True, "typo"),
    Pair("What is the capital of France?", "What is the captial of Frnace?", True, "typo"),
    Pair(
        "Ｗｈａｔ ｉｓ ｔｈｅ ｃａｐｉｔａｌ ｏｆ Ｆｒａｎｃｅ？",
        "What is the capital of France?",
        True,
        "case_punct",
    ),
    Pair(
        "What  is   the capital\tof France?", "What is the capital of France?", True, "case_punct"
    ),
    Pair("Give me five ideas for dinner", "Give me 5 ideas for dinner", True, "fillers"),
    Pair("What is 1,000 times 3?", "what is 1000 times 3", True, "case_punct"),
]

# Written after the guards, as a check of generality (not tuned against).
_HOLDOUT: list[Pair] = [
    Pair("How do I delete a branch in git?", "How do I create a branch in git?", False, "holdout"),
    Pair(
        "How do I delete a local branch in git?",
        "How do I delete a remote branch in git?",
        False,
        "holdout",
    ),
    Pair("Is coffee good for you?", "Is coffee bad for you?", False, "holdout"),
    Pair(
        "What is the minimum wage in California?",
        "What is the maximum wage in California?",
        False,
        "holdout",
    ),
    Pair(
        "How to increase font size in VS Code",
        "How to decrease font size in VS Code",
        False,
        "holdout",
    ),
    Pair(
        "What's the difference between TCP and UDP?",
        "What's the difference between UDP and TCP?",
        True,
        "holdout",
    ),
    Pair("Best time to visit Japan", "Worst time to visit Japan", False, "holdout"),
    Pair("How long to boil an egg?", "How long to boil an egg", True, "holdout"),
    Pair("symptoms of type 1 diabetes", "symptoms of type 2 diabetes", False, "holdout"),
    Pair(
        "python list comprehension example", "python dict comprehension example", False, "holdout"
    ),
    Pair("how to center a div horizontally", "how to center a div vertically", False, "holdout"),
    Pair(
        "What is the speed of light in vacuum?",
        "What is the speed of sound in vacuum?",
        False,
        "holdout",
    ),
    Pair(
        "Who was the first man on the moon?",
        "Who was the second man on the moon?",
        False,
        "holdout",
    ),
    Pair(
        "Who was the first man on the moon?", "who was the first man on the moon??", True, "holdout"
    ),
    Pair("Is it safe to eat raw eggs?", "Is it unsafe to eat raw eggs?", False, "holdout"),
    Pair("Can dogs eat grapes?", "Can cats eat grapes?", False, "holdout"),
    Pair("Can dogs eat grapes?", "can dogs eat grapes", True, "holdout"),
    Pair("How many days until Christmas?", "How many days since Christmas?", False, "holdout"),
    Pair(
        "What is the interest rate on a 30 year mortgage?",
        "What is the interest rate on a 15 year mortgage?",
        False,
        "holdout",
    ),
    Pair(
        "How do I upgrade to the premium plan?",
        "How do I downgrade to the premium plan?",
        False,
        "holdout",
    ),
    Pair("how do i cancel my subscription", "How do I cancel my subscription?", True, "holdout"),
    Pair("how do i cancel my subscription", "how do i renew my subscription", False, "holdout"),
    Pair(
        "Which is larger, Jupiter or Saturn?",
        "Which is smaller, Jupiter or Saturn?",
        False,
        "holdout",
    ),
    Pair("What is the opposite of hot?", "What is the opposite of cold?", False, "holdout"),
    Pair(
        "What is the refund policy for online orders?",
        "What is the refund policy for in-store orders?",
        False,
        "holdout",
    ),
    Pair("Write a haiku about autumn", "Write a haiku about summer", False, "holdout"),
    Pair("Write a haiku about autumn", "write a haiku about autum", True, "holdout"),
    Pair(
        "What is the tax rate for married couples?",
        "What is the tax rate for single people?",
        False,
        "holdout",
    ),
    Pair("Translate 'thank you' to French", "Translate 'thank you' to Spanish", False, "holdout"),
    Pair("What year did World War II end?", "What year did World War I end?", False, "holdout"),
    Pair("Is the store open on Sunday?", "Is the store open on Saturday?", False, "holdout"),
    Pair("Who is the CEO of Tesla?", "Who is the CFO of Tesla?", False, "holdout"),
    Pair(
        "What is the formula for the area of a circle?",
        "What is the formula for the area of a cirlce?",
        True,
        "holdout",
    ),
    Pair(
        "What is the formula for the area of a circle?",
        "What is the formula for the perimeter of a circle?",
        False,
        "holdout",
    ),
    Pair("Is aspirin safe during pregnancy?", "Is aspirin safe after pregnancy?", False, "holdout"),
    Pair(
        "How do I get to the airport by bus?",
        "How do I get to the airport by train?",
        False,
        "holdout",
    ),
    Pair(
        "How do I get to the airport by bus?", "how do i get to the airport by bus", True, "holdout"
    ),
    Pair(
        "What is the password policy for admins?",
        "What is the password policy for guests?",
        False,
        "holdout",
    ),
    Pair(
        "Explain recursion with an example",
        "Explain recursion without an example",
        False,
        "holdout",
    ),
    Pair("What rhymes with orange?", "What rhymes with purple?", False, "holdout"),
]

_HOLDOUT += [
    Pair("english to french", "french to english", False, "order"),
    Pair("usd to eur", "eur to usd", False, "order"),
    Pair("Python vs Go for web servers", "Go vs Python for web servers", False, "order"),
    Pair("Python vs Go: which is faster?", "Which is faster: Python vs Go?", True, "reorder"),
]

_CHINESE: list[Pair] = [
    Pair("法国的首都是哪里？", "请问法国的首都是哪里", True, "chinese"),
    Pair("法国的首都是哪里？", "法国首都是哪里", True, "chinese"),
    Pair("北京今天天气怎么样", "请问北京今天天气怎么样？", True, "chinese"),
    Pair("如何学习Python编程", "请问如何学习 Python 编程？", True, "chinese"),
    Pair("红烧肉怎么做", "红烧肉怎么做呢", True, "chinese"),
    Pair("推荐一本关于历史的书", "推荐一本关于历史的书吧", True, "chinese"),
    Pair("长城有多长", "请问长城有多长？", True, "chinese"),
    Pair("上海到杭州坐高铁要多久", "请问上海到杭州坐高铁要多久", True, "chinese"),
    Pair("法国的首都是哪里？", "西班牙的首都是哪里？", False, "chinese_entity"),
    Pair("北京今天天气怎么样", "上海今天天气怎么样", False, "chinese_entity"),
    Pair("北京今天天气怎么样", "北京明天天气怎么样", False, "chinese_entity"),
    Pair("如何学习Python编程", "如何学习Java编程", False, "chinese_entity"),
    Pair("红烧肉怎么做", "红烧鱼怎么做", False, "chinese_entity"),
    Pair("从北京到上海的高铁", "从上海到北京的高铁", False, "chinese_order"),
    Pair("上海到杭州坐高铁要多久", "杭州到上海坐高铁要多久", False, "chinese_order"),
    Pair("这个药可以和酒一起吃吗", "这个药不可以和酒一起吃吗", False, "chinese_negation"),
    Pair("哪些水果含有维生素C", "哪些水果没有维生素C", False, "chinese_negation"),
    Pair("列出所有欧洲国家", "列出除了法国以外的所有欧洲国家", False, "chinese_negation"),
    Pair("这家餐厅是素食餐厅吗", "这家餐厅是非素食餐厅吗", False, "chinese_negation"),
    Pair("三加四等于几", "三加五等于几", False, "chinese_number"),
    Pair("订一张3月5日的机票", "订一张3月6日的机票", False, "chinese_number"),
    Pair("五公里是多少英里", "五英里是多少公里", False, "chinese_order"),
    Pair("一百美元换多少人民币", "一百欧元换多少人民币", False, "chinese_entity"),
    Pair("我想去看电影", "我不想去看电影", False, "chinese_negation"),
    Pair("长城有多长", "长江有多长", False, "chinese_entity"),
    Pair("今天是星期几", "明天是星期几", False, "chinese_entity"),
]


def _tool_pairs() -> list[Pair]:
    calls: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
        ({"tool": "get_weather", "args": {"city": "Paris", "unit": "C"}},
         {"args": {"unit": "C", "city": "Paris"}, "tool": "get_weather"}, True),
        ({"tool": "get_weather", "args": {"city": "Paris", "unit": "C"}},
         {"tool": "get_weather", "args": {"city": "Paris", "unit": "F"}}, False),
        ({"tool": "get_weather", "args": {"city": "Paris"}},
         {"tool": "get_weather", "args": {"city": "paris"}}, False),
        ({"tool": "search", "args": {"q": "red shoes", "limit": 10}},
         {"tool": "search", "args": {"limit": 10, "q": "red shoes"}}, True),
        ({"tool": "search", "args": {"q": "red shoes", "limit": 10}},
         {"tool": "search", "args": {"q": "red shoes", "limit": 11}}, False),
        ({"tool": "search", "args": {"q": "red shoes", "limit": 10}},
         {"tool": "search", "args": {"q": "red shoe", "limit": 10}}, False),
        ({"tool": "search", "args": {"q": "red shoes", "limit": 10}},
         {"tool": "search", "args": {"q": "red shoes", "limit": "10"}}, False),
        ({"tool": "sql", "args": {"query": "SELECT * FROM users WHERE id = 1"}},
         {"tool": "sql", "args": {"query": "SELECT * FROM users WHERE id = 2"}}, False),
        ({"tool": "sql", "args": {"query": "SELECT 1", "db": "main"}},
         {"tool": "sql", "args": {"db": "main", "query": "SELECT 1"}}, True),
        ({"tool": "transfer", "args": {"from": "acc1", "to": "acc2", "amount": 100}},
         {"tool": "transfer", "args": {"from": "acc2", "to": "acc1", "amount": 100}}, False),
        ({"tool": "transfer", "args": {"from": "acc1", "to": "acc2", "amount": 100}},
         {"tool": "transfer", "args": {"amount": 100, "to": "acc2", "from": "acc1"}}, True),
        ({"tool": "list_files", "args": {"path": "/tmp", "recursive": True}},
         {"tool": "list_files", "args": {"path": "/tmp", "recursive": False}}, False),
        ({"tool": "list_files", "args": {"path": "/tmp", "filters": ["a", "b"]}},
         {"tool": "list_files", "args": {"path": "/tmp", "filters": ["b", "a"]}}, False),
        ({"tool": "list_files", "args": {"path": "/tmp", "filters": ["a", "b"]}},
         {"filters": None, "tool": "list_files", "args": {"filters": ["a", "b"], "path": "/tmp"}},
         False),
        ({"tool": "translate", "args": {"text": "good morning", "to": "de"}},
         {"tool": "translate", "args": {"to": "de", "text": "good morning"}}, True),
        ({"tool": "translate", "args": {"text": "good morning", "to": "de"}},
         {"tool": "translate", "args": {"text": "Good morning", "to": "de"}}, False),
    ]  # fmt: skip
    return [Pair(a, b, same, "tool_call") for a, b, same in calls]


def labelled_pairs() -> list[Pair]:
    return [*_template_pairs(), *_number_pairs(), *_HAND, *_HOLDOUT, *_CHINESE, *_tool_pairs()]
