# ruff: noqa: E501 - data: one prompt template a line
"""Families of the ``heldout`` part of the labelled set: written before the cache was tuned,
with their own filler phrases and homophones, and only ever scored in aggregate."""

from __future__ import annotations

from tests.cache.labelled_set import Family, Fillers

FILLERS = Fillers(
    en_prefixes=[
        "Excuse me, ",
        "Hello! I have a question: ",
        "If you don't mind, ",
        "Can you tell me ",
        "Good morning, ",
        "I need to know ",
        "Hey there, quick one. ",
        "",
    ],
    en_suffixes=[" Many thanks.", " Thanks a lot!", " Appreciate it.", " ty", "", " thx!"],
    zh_prefixes=["您好，", "打扰一下，", "请教一下，", "想请问", "你好，我想知道"],
    zh_suffixes=["，多谢", "，麻烦了", "", "？谢谢"],
    zh_homophones=[
        ("登录", "登陆"),
        ("账户", "帐户"),
        ("设置", "设制"),
        ("需要", "须要"),
        ("以后", "已后"),
        ("在哪", "再哪"),
    ],
)

FAMILIES: list[Family] = [
    Family(
        forms=[
            "What time does the {place} open on Sundays?",
            "When does the {place} open on a Sunday?",
            "Sunday opening hours of the {place}?",
        ],
        slots={"place": ["library", "museum", "post office", "pharmacy", "gym"]},
        negations=["What time does the {place} not open on Sundays?"],
        reorders=["On Sundays, what time does the {place} open?"],
        topics=["What time does the {place} close on Sundays?"],
    ),
    Family(
        forms=[
            "How many calories are in {n} grams of {food}?",
            "What is the calorie count of {n} g of {food}?",
        ],
        slots={
            "n": ["100", "50", "two hundred", "30"],
            "food": ["rice", "oats", "almonds", "chicken"],
        },
        reorders=["{food}, {n} grams: how many calories?"],
    ),
    Family(
        forms=[
            "How do I cancel my {sub} subscription?",
            "What is the way to end my {sub} subscription?",
            "I want to stop my {sub} subscription, how?",
        ],
        slots={"sub": ["Netflix", "Spotify", "gym", "newspaper"]},
        synonyms=[("cancel", "terminate")],
        scoped=[
            (
                "How do I cancel a customer's {sub} subscription?",
                "How do I cancel my {sub} subscription?",
            )
        ],
    ),
    Family(
        forms=["Translate '{phrase}' into {language}", "How do you say '{phrase}' in {language}?"],
        slots={
            "phrase": ["good morning", "thank you", "where is the station"],
            "language": ["German", "Italian", "Portuguese", "Dutch", "Swedish"],
        },
        swaps=[
            (
                "Translate this text from {language} to English",
                "Translate this text from English to {language}",
            )
        ],
    ),
    Family(
        forms=[
            "What is the best time of year to visit {country}?",
            "When should I travel to {country} for the best weather?",
            "Which season is ideal for a trip to {country}?",
        ],
        slots={"country": ["Peru", "Vietnam", "Iceland", "Morocco", "Greece", "Chile"]},
        synonyms=[("visit", "go to")],
        topics=["What is the best way to get a visa for {country}?"],
    ),
    Family(
        forms=[
            "Is it safe to run {n} km every day?",
            "Can running {n} kilometres daily be harmful?",
        ],
        slots={"n": ["5", "10", "twenty", "3"]},
        negations=[
            "Is it unsafe to run {n} km every day?",
            "Is it safe to never run {n} km every day?",
        ],
    ),
    Family(
        forms=[
            "How much does a {n} bedroom flat cost in {city}?",
            "What is the price of a {n}-bedroom apartment in {city}?",
        ],
        slots={"n": ["one", "2", "three"], "city": ["London", "Amsterdam", "Zurich", "Rome"]},
        synonyms=[("flat", "apartment")],
        reorders=["In {city}, how much does a {n} bedroom flat cost?"],
    ),
    Family(
        forms=[
            "Show my unpaid bills",
            "Which of my bills are still unpaid?",
            "List the bills I haven't paid yet",
        ],
        slots={},
        scoped=[
            ("Show all unpaid bills", "Show my unpaid bills"),
            ("Show the unpaid bills of every customer", "Show my unpaid bills"),
        ],
        negations=["Show my bills that are not unpaid"],
    ),
    Family(
        forms=["What is {n} {unitd} in {unitd2}?", "How many {unitd2} are in {n} {unitd}?"],
        slots={
            "n": ["3", "12", "seven", "60"],
            "unitd": ["feet", "inches", "yards"],
            "unitd2": ["metres", "centimetres"],
        },
    ),
    Family(
        forms=[
            "Is {temp} degrees {unitt} a fever?",
            "Does a temperature of {temp} °{unitt} count as a fever?",
        ],
        slots={"temp": ["38", "100", "37.5"], "unitt": ["C", "F"]},
    ),
    Family(
        forms=["Send {n} dollars to {person}", "Transfer ${n} to {person}"],
        slots={
            "n": ["50", "twenty", "300"],
            "person": ["Alice", "Bob"],
            "person2": ["Carmen", "Dmitri"],
        },
        swaps=[("Did {person} send money to {person2}?", "Did {person2} send money to {person}?")],
    ),
    Family(
        forms=[
            "Do cats need vaccines every year?",
            "Are yearly vaccinations necessary for cats?",
            "Should my cat be vaccinated annually?",
        ],
        slots={},
        negations=[
            "Do cats not need vaccines every year?",
            "Do indoor cats never need vaccines every year?",
        ],
        topics=["Do dogs need vaccines every year?", "Do cats need baths every year?"],
    ),
    Family(
        forms=["SELECT * FROM {table} WHERE price >= {n} AND in_stock = true"],
        slots={"table": ["products", "items", "listings"], "n": ["10", "100"]},
        reorders=["select * from {table} where in_stock = true and price >= {n}"],
        negations=[
            "SELECT * FROM {table} WHERE price >= {n} AND in_stock = false",
            "SELECT * FROM {table} WHERE price < {n} AND in_stock = true",
        ],
        raw=True,
    ),
    Family(
        forms=[
            '{{"tool": "create_event", "args": {{"title": "{title}", "all_day": {flag}, "attendees": {n}}}}}'
        ],
        slots={"title": ["standup", "retro", "lunch"], "flag": ["true", "false"], "n": ["3", "8"]},
        reorders=[
            '{{"args": {{"attendees": {n}, "all_day": {flag}, "title": "{title}"}}, "tool": "create_event"}}'
        ],
        raw=True,
    ),
    Family(
        forms=[
            "Why is my {device} so slow after the update?",
            "My {device} got slow after updating, why?",
        ],
        slots={"device": ["computer", "phone", "browser", "tablet"]},
        topics=["Why is my {device} so loud after the update?"],
    ),
    # Chinese
    Family(
        forms=["{city}有什么好吃的？", "{city}有哪些美食推荐？", "去{city}吃什么比较好？"],
        slots={"city": ["成都", "西安", "重庆", "长沙"]},
        lang="zh",
        synonyms=[("好吃", "美味")],
        topics=["{city}有什么好玩的？"],
    ),
    Family(
        forms=["如何修改我的账户设置？", "我的账户设置在哪里改？"],
        slots={},
        lang="zh",
        scoped=[("如何修改所有人的账户设置？", "如何修改我的账户设置？")],
        negations=["为什么不能修改我的账户设置？"],
    ),
    Family(
        forms=["{n}英里是多少公里？", "{n}英里换成公里是多少？"],
        slots={"n": ["10", "二十", "26"]},
        lang="zh",
        swaps=[("{n}英里是多少公里？", "{n}公里是多少英里？")],
        swap_kind="unit_change",
    ),
    Family(
        forms=["孕妇可以吃{food}吗？", "怀孕的时候能吃{food}吗？"],
        slots={"food": ["螃蟹", "西瓜", "芒果", "辣椒"]},
        lang="zh",
        synonyms=[("可以", "能")],
        negations=["孕妇不可以吃{food}吗？"],
    ),
    Family(
        forms=["{year}年{city}的人口是多少？", "{city}在{year}年有多少人口？"],
        slots={"year": ["2000", "2010", "2020"], "city": ["上海", "北京", "深圳"]},
        lang="zh",
        reorders=["{city}{year}年的人口是多少？", "人口是多少，{year}年的{city}"],
    ),
]
