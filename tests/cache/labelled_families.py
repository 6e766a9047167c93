# ruff: noqa: E501 - data: one prompt template a line
"""Families of the ``tune`` part of the labelled set (see :mod:`tests.cache.labelled_set`)."""

from __future__ import annotations

from tests.cache.labelled_set import Family, Fillers

CITIES = ["Paris", "Berlin", "Madrid", "Lisbon", "Vienna", "Prague", "Dublin", "Oslo"]
COUNTRIES = ["France", "Spain", "Italy", "Norway", "Japan", "Canada", "Brazil", "Kenya"]
DRUGS = ["ibuprofen", "paracetamol", "aspirin", "metformin", "amoxicillin", "omeprazole"]
LANGS = ["Python", "JavaScript", "Rust", "Java", "Go", "Ruby"]

FILLERS = Fillers(
    en_prefixes=[
        "Sorry to bother you, but ",
        "I was wondering, ",
        "Hi there! ",
        "Quick question: ",
        "Could you please tell me ",
        "Hey, ",
        "Do you happen to know ",
        "I'd like to know ",
        "Hello, just a quick one: ",
        "",
    ],
    en_suffixes=[
        " Thanks in advance.",
        " Thank you!",
        " Cheers.",
        " Any help appreciated.",
        " please",
        " thanks so much",
        "",
    ],
    zh_prefixes=["你好，请问", "麻烦问一下，", "请问", "我想问一下，", "能告诉我", "你好，"],
    zh_suffixes=["，谢谢", "？谢谢！", "呢", "", "？"],
    zh_homophones=[
        ("登录", "登陆"),
        ("账号", "帐号"),
        ("部署", "布署"),
        ("安装", "按装"),
        ("再次", "在次"),
        ("已经", "以经"),
        ("做饭", "作饭"),
        ("其他", "其它"),
        ("密码", "秘码"),
        ("检查", "检察"),
        ("配置", "佩置"),
    ],
)

FAMILIES: list[Family] = [
    Family(
        forms=[
            "What is the capital of {country}?",
            "Which city is the capital of {country}?",
            "{country}'s capital city is what?",
        ],
        slots={"country": COUNTRIES},
        reorders=["{country}: what is the capital?"],
        topics=["What is the capital gains tax in {country}?"],
    ),
    Family(
        forms=[
            "How tall is {mountain}?",
            "What is the height of {mountain}?",
            "How high is {mountain}?",
        ],
        slots={
            "mountain": [
                "Mount Everest",
                "K2",
                "Mont Blanc",
                "Kilimanjaro",
                "Denali",
                "Mount Fuji",
                "Aconcagua",
            ]
        },
        synonyms=[("tall", "high")],
        topics=["How old is {mountain}?", "How cold is it on {mountain}?"],
    ),
    Family(
        forms=[
            "How do I merge two dataframes in pandas?",
            "What is the way to join two pandas dataframes?",
            "How can two dataframes be combined with pandas?",
        ],
        slots={},
        synonyms=[("merge", "combine")],
        reorders=["pandas merge two dataframes", "In pandas, how do I merge two dataframes?"],
        topics=[
            "How do I merge two dictionaries in Python?",
            "How do I drop two columns in pandas?",
        ],
    ),
    Family(
        forms=["How do I {task} in {lang}?", "What is the best way to {task} using {lang}?"],
        slots={
            "task": [
                "reverse a string",
                "read a CSV file",
                "sort a dictionary by value",
                "remove duplicates from a list",
                "parse JSON",
                "send an HTTP request",
            ],
            "lang": LANGS,
        },
        reorders=["In {lang}, how do I {task}?", "{lang}: how do I {task}?"],
    ),
    Family(
        forms=[
            "Convert this code from {lang} to {lang2}",
            "Translate this code from {lang} into {lang2}",
            "Rewrite this {lang} code in {lang2}",
        ],
        slots={"lang": LANGS[:3], "lang2": LANGS[3:]},
        synonyms=[("Convert", "Transform")],
        swaps=[
            ("Convert this code from {lang} to {lang2}", "Convert this code from {lang2} to {lang}")
        ],
    ),
    Family(
        forms=[
            "Find flights from {city} to {city2} on Friday",
            "Show me Friday flights from {city} to {city2}",
            "Which flights go from {city} to {city2} on Friday?",
        ],
        slots={"city": CITIES[:4], "city2": CITIES[4:]},
        synonyms=[("Find", "Search for")],
        reorders=["On Friday, find flights from {city} to {city2}"],
        swaps=[
            (
                "Find flights from {city} to {city2} on Friday",
                "Find flights from {city2} to {city} on Friday",
            )
        ],
        topics=["Find hotels in {city2} on Friday", "Find trains from {city} to {city2} on Friday"],
    ),
    Family(
        forms=[
            "What are the side effects of {drug}?",
            "What side effects does {drug} have?",
            "Does {drug} have any side effects?",
        ],
        slots={"drug": DRUGS},
        synonyms=[("side effects", "adverse effects")],
        topics=["What is the usual dose of {drug}?"],
    ),
    Family(
        forms=[
            "Can I take {drug} with alcohol?",
            "Is it safe to drink alcohol while taking {drug}?",
            "Is mixing {drug} and alcohol okay?",
        ],
        slots={"drug": DRUGS},
        negations=["Can I not take {drug} with alcohol?", "Can I take {drug} without alcohol?"],
        topics=["Can I take {drug} with food?"],
    ),
    Family(
        forms=[
            "Convert {n} {unit} to {unit2}",
            "How many {unit2} is {n} {unit}?",
            "What is {n} {unit} in {unit2}?",
        ],
        slots={
            "n": ["5", "12", "42", "100"],
            "unit": ["miles", "pounds", "gallons"],
            "unit2": ["kilometres", "kilograms", "litres"],
        },
        synonyms=[("Convert", "Change")],
        swaps=[("Convert {n} {unit} to {unit2}", "Convert {n} {unit2} to {unit}")],
        swap_kind="unit_change",
    ),
    Family(
        forms=[
            "What is {n} degrees {unitt} in {unitt2}?",
            "Convert {n} degrees {unitt} to {unitt2}",
        ],
        slots={
            "n": ["30", "37", "100", "-10"],
            "unitt": ["Fahrenheit", "Celsius"],
            "unitt2": ["Kelvin"],
        },
    ),
    Family(
        forms=["How much is {unitc}{n} in yen?", "Convert {unitc}{n} to Japanese yen"],
        slots={"unitc": ["$", "€", "£"], "n": ["20", "50", "250", "1000"]},
    ),
    Family(
        forms=[
            "List my open invoices",
            "Show the open invoices that belong to me",
            "Which open invoices do I have?",
        ],
        slots={},
        scoped=[
            ("List the open invoices", "List my open invoices"),
            ("List all open invoices", "List my open invoices"),
        ],
        negations=["List my invoices that are not open"],
        topics=["List my open support tickets"],
    ),
    Family(
        forms=["Show my {thing} for {month}", "What were my {thing} in {month}?"],
        slots={
            "thing": ["expenses", "orders", "meetings", "payments"],
            "month": ["January", "March", "July", "October"],
        },
        scoped=[
            ("Show the {thing} for {month}", "Show my {thing} for {month}"),
            ("Show everyone's {thing} for {month}", "Show my {thing} for {month}"),
        ],
        reorders=["For {month}, show my {thing}"],
    ),
    Family(
        forms=[
            "What is my account balance?",
            "How much money is in my account?",
            "Show me the balance of my account",
        ],
        slots={},
        scoped=[("What is the account balance?", "What is my account balance?")],
        topics=["What is my account number?"],
    ),
    Family(
        forms=[
            "Which fruits are high in {nutrient}?",
            "What fruits contain a lot of {nutrient}?",
            "Fruits rich in {nutrient}?",
        ],
        slots={"nutrient": ["vitamin C", "potassium", "fibre", "iron"]},
        negations=[
            "Which fruits are not high in {nutrient}?",
            "Which fruits are low in {nutrient}?",
        ],
        synonyms=[("fruits", "fruit")],
        topics=["Which vegetables are high in {nutrient}?"],
    ),
    Family(
        forms=["Recipes for {food} with {ingredient}", "How do I cook {food} with {ingredient}?"],
        slots={
            "food": ["lasagna", "risotto", "curry", "pancakes", "tacos"],
            "ingredient": ["mushrooms", "peanuts", "eggs", "cheese"],
        },
        negations=["Recipes for {food} without {ingredient}"],
        synonyms=[("Recipes", "Recipe ideas")],
        reorders=["With {ingredient}: recipes for {food}"],
    ),
    Family(
        forms=[
            "Set a timer for {n} minutes",
            "Start a {n} minute timer",
            "Put a timer on for {n} minutes",
        ],
        slots={"n": ["five", "10", "15", "twenty", "45"]},
        synonyms=[("Set", "Create")],
    ),
    Family(
        forms=[
            "Book a table for {n} people at {time}",
            "Reserve a table for {n} at {time}",
            "I need a table for {n} people at {time}",
        ],
        slots={"n": ["2", "four", "6", "eight"], "time": ["7pm", "8pm", "noon"]},
        synonyms=[("Book", "Reserve")],
        reorders=["At {time}, book a table for {n} people"],
    ),
    Family(
        forms=[
            "What is the weather in {city} tomorrow?",
            "Will it rain in {city} tomorrow?",
            "Tomorrow's forecast for {city}?",
        ],
        slots={"city": CITIES},
        synonyms=[("weather", "forecast")],
        reorders=["Tomorrow, what is the weather in {city}?", "weather {city} tomorrow"],
        topics=["What is the weather in {city} today?", "What is the time in {city} now?"],
    ),
    Family(
        forms=[
            "How do I reset my password?",
            "What are the steps to change my password if I forgot it?",
            "I forgot my password, how can I reset it?",
        ],
        slots={},
        synonyms=[("reset", "recover")],
        scoped=[("How do I reset a user's password?", "How do I reset my password?")],
        topics=["How do I reset my router?", "How strong is my password?"],
    ),
    Family(
        forms=[
            "Why does my {device} overheat?",
            "What makes my {device} get so hot?",
            "My {device} keeps overheating, why?",
        ],
        slots={"device": ["laptop", "phone", "router", "printer", "tablet"]},
        synonyms=[("overheat", "get too hot")],
        topics=["Why does my {device} restart?", "Why does my {device} not charge?"],
    ),
    Family(
        forms=[
            "Summarise the history of {topic} in {n} sentences",
            "Give a {n} sentence summary of the history of {topic}",
        ],
        slots={
            "topic": ["the Roman Empire", "the Cold War", "jazz", "the printing press"],
            "n": ["three", "5", "ten"],
        },
        synonyms=[("Summarise", "Summarize")],
    ),
    Family(
        forms=["Is {n} a prime number?", "Is the number {n} prime?", "Check whether {n} is prime"],
        slots={"n": ["91", "97", "113", "221", "1001"]},
        negations=["Is {n} not a prime number?"],
    ),
    Family(
        forms=[
            "What is the square root of {n}?",
            "Calculate the square root of {n}",
            "sqrt of {n}?",
        ],
        slots={"n": ["144", "169", "two", "50", "1024"]},
        topics=["What is the cube root of {n}?"],
    ),
    Family(
        forms=["Who wrote {book}?", "Who is the author of {book}?", "{book} was written by whom?"],
        slots={"book": ["Middlemarch", "Dracula", "Frankenstein", "Moby Dick", "War and Peace"]},
        topics=["When was {book} written?", "Who published {book}?"],
    ),
    Family(
        forms=[
            "Is it cheaper to fly or take the train from {city} to {city2}?",
            "Flying versus the train from {city} to {city2}: which costs less?",
        ],
        slots={"city": CITIES[:4], "city2": CITIES[4:]},
        swaps=[
            (
                "Is it cheaper to fly or take the train from {city} to {city2}?",
                "Is it cheaper to fly or take the train from {city2} to {city}?",
            )
        ],
    ),
    Family(
        forms=["Is a {animal} bigger than a {animal2}?", "Are {animal}s larger than {animal2}s?"],
        slots={"animal": ["dolphin", "wolf", "lion"], "animal2": ["shark", "bear", "tiger"]},
        synonyms=[("bigger", "larger")],
        swaps=[
            ("Is a {animal} bigger than a {animal2}?", "Is a {animal2} bigger than a {animal}?")
        ],
    ),
    Family(
        forms=[
            "Does this plan include {feature}?",
            "Is {feature} part of this plan?",
            "Is {feature} included in this plan?",
        ],
        slots={"feature": ["roaming", "voicemail", "unlimited data", "international calls"]},
        negations=["Doesn't this plan include {feature}?", "Does this plan exclude {feature}?"],
    ),
    Family(
        forms=[
            "How long should I boil an egg for a {yolk} yolk?",
            "How many minutes do I boil an egg to get a {yolk} yolk?",
        ],
        slots={"yolk": ["runny", "soft", "firm", "jammy"]},
        synonyms=[("boil", "cook")],
        topics=["How long should I bake a potato?"],
    ),
    Family(
        forms=[
            "What is the population of {city} in {year}?",
            "How many people lived in {city} in {year}?",
        ],
        slots={"city": CITIES, "year": ["1900", "1950", "2000", "2020"]},
        reorders=["In {year}, what was the population of {city}?"],
    ),
    # SQL: operators, tables and columns are entities; AND conditions may be swapped.
    Family(
        forms=["SELECT id, name FROM {table} WHERE qty {op} 0 AND region = 'EU'"],
        slots={"table": ["orders", "invoices", "shipments"], "op": ["=", ">", "<="]},
        reorders=["select id, name from {table} where region = 'EU' and qty {op} 0"],
        negations=[
            "SELECT id, name FROM {table} WHERE qty != 0 AND region = 'EU'",
            "SELECT id, name FROM {table} WHERE qty <> 0 AND region = 'EU'",
        ],
        raw=True,
    ),
    Family(
        forms=["SELECT count(*) FROM {table} WHERE status = 'open' AND created_at > '2024-01-01'"],
        slots={"table": ["tickets", "orders", "users"]},
        reorders=[
            "SELECT COUNT(*) FROM {table} WHERE created_at > '2024-01-01' AND status = 'open'",
            "select count(*)\nfrom {table}\nwhere status='open' and created_at>'2024-01-01'",
        ],
        negations=[
            "SELECT count(*) FROM {table} WHERE status != 'open' AND created_at > '2024-01-01'",
            "SELECT count(*) FROM {table} WHERE NOT status = 'open' AND created_at > '2024-01-01'",
        ],
        topics=[
            "SELECT count(*) FROM {table} WHERE status = 'open' AND created_at > '2024-01-01' GROUP BY owner"
        ],
        raw=True,
    ),
    Family(
        forms=["SELECT {col} FROM customers WHERE country = 'DE' ORDER BY {col}"],
        slots={"col": ["email", "name", "city", "phone"]},
        reorders=["select {col} from customers where country='DE' order by {col}"],
        topics=["SELECT {col} FROM customers WHERE country = 'DE' ORDER BY {col} DESC"],
        raw=True,
    ),
    # JSON sent as a string: keys reordered; booleans, nulls and numbers matter.
    Family(
        forms=['{{"tool": "search", "args": {{"q": "{q}", "limit": {n}, "safe": true}}}}'],
        slots={"q": ["red shoes", "usb cable", "coffee grinder"], "n": ["10", "20", "5"]},
        reorders=[
            '{{"args": {{"safe": true, "limit": {n}, "q": "{q}"}}, "tool": "search"}}',
            '{{ "tool" : "search" , "args" : {{ "limit" : {n} , "q" : "{q}" , "safe" : true }} }}',
        ],
        negations=[
            '{{"tool": "search", "args": {{"q": "{q}", "limit": {n}, "safe": false}}}}',
            '{{"tool": "search", "args": {{"q": "{q}", "limit": {n}, "safe": null}}}}',
        ],
        topics=['{{"tool": "search", "args": {{"q": "{q}", "limit": "{n}", "safe": true}}}}'],
        raw=True,
    ),
    Family(
        forms=['{{"tool": "get_weather", "args": {{"city": "{city}", "unit": "{unitw}"}}}}'],
        slots={"city": CITIES[:5], "unitw": ["celsius", "fahrenheit"]},
        reorders=['{{"args": {{"unit": "{unitw}", "city": "{city}"}}, "tool": "get_weather"}}'],
        raw=True,
    ),
    # Chinese
    Family(
        forms=["{city}明天天气怎么样？", "{city}明天会下雨吗？", "明天{city}的天气预报"],
        slots={"city": ["上海", "北京", "广州", "深圳", "杭州", "成都"]},
        lang="zh",
        synonyms=[("怎么样", "如何")],
        reorders=["明天{city}天气怎么样", "天气怎么样，{city}明天"],
        topics=["{city}明天空气质量怎么样？", "{city}今天天气怎么样？"],
    ),
    Family(
        forms=[
            "如何{verb}我的账号密码？",
            "我的账号密码怎么{verb}？",
            "{verb}账号密码的方法是什么？",
        ],
        slots={"verb": ["重置", "修改", "找回"]},
        lang="zh",
        scoped=[("如何{verb}所有用户的账号密码？", "如何{verb}我的账号密码？")],
        topics=["如何{verb}我的手机号码？"],
    ),
    Family(
        forms=["为什么我无法登录系统？", "我登录不了系统是什么原因？", "系统登录失败怎么办？"],
        slots={},
        lang="zh",
        synonyms=[("无法", "不能")],
        topics=["为什么我无法注册系统？", "为什么我无法退出系统？"],
    ),
    Family(
        forms=["从{city}到{city2}的高铁要多久？", "{city}坐高铁去{city2}需要多长时间？"],
        slots={"city": ["北京", "上海", "南京"], "city2": ["杭州", "武汉", "西安"]},
        lang="zh",
        swaps=[("从{city}到{city2}的高铁要多久？", "从{city2}到{city}的高铁要多久？")],
        topics=["从{city}到{city2}的机票多少钱？"],
    ),
    Family(
        forms=["{n}华氏度是多少摄氏度？", "把{n}华氏度换算成摄氏度"],
        slots={"n": ["100", "三十", "75", "212"]},
        lang="zh",
        negations=[],
        topics=["{n}华氏度热不热？"],
        swaps=[("{n}华氏度是多少摄氏度？", "{n}摄氏度是多少华氏度？")],
        swap_kind="unit_change",
    ),
    Family(
        forms=["{n}公里等于多少英里？", "{n}公里换算成英里是多少？"],
        slots={"n": ["5", "十", "42", "100"]},
        lang="zh",
        swaps=[("{n}公里等于多少英里？", "{n}英里等于多少公里？")],
        swap_kind="unit_change",
    ),
    Family(
        forms=["这个药可以和{drink}一起吃吗？", "吃这个药的时候能喝{drink}吗？"],
        slots={"drink": ["酒", "咖啡", "牛奶", "茶"]},
        lang="zh",
        synonyms=[("可以", "能"), ("一起吃", "同时服用")],
        negations=["这个药不可以和{drink}一起吃吗？", "这个药为什么不能和{drink}一起吃？"],
    ),
    Family(
        forms=[
            "怎么在服务器上安装{soft}？",
            "服务器如何安装{soft}？",
            "在服务器上{soft}的安装步骤",
        ],
        slots={"soft": ["Docker", "Nginx", "MySQL", "Redis"]},
        lang="zh",
        synonyms=[("安装", "部署")],
        reorders=["在服务器上怎么安装{soft}？"],
        topics=["怎么在服务器上卸载{soft}？"],
    ),
    Family(
        forms=["查看我的{thing}", "我的{thing}在哪里看？", "显示我的{thing}"],
        slots={"thing": ["订单", "发票", "积分", "优惠券"]},
        lang="zh",
        scoped=[
            ("查看所有{thing}", "查看我的{thing}"),
            ("查看全部用户的{thing}", "查看我的{thing}"),
        ],
        negations=["查看我没有使用的{thing}"],
    ),
    Family(
        forms=["{country}的首都是哪里？", "{country}的首都是哪个城市？"],
        slots={"country": ["法国", "德国", "日本", "加拿大", "巴西"]},
        lang="zh",
        synonyms=[("哪里", "什么地方")],
        topics=["{country}的人口是多少？"],
    ),
    Family(
        forms=["帮我订{n}张明天去{city}的火车票", "订{n}张明天到{city}的火车票"],
        slots={"n": ["两", "三", "4"], "city": ["上海", "北京", "广州"]},
        lang="zh",
        reorders=["明天去{city}的火车票，帮我订{n}张"],
        topics=["帮我退{n}张明天去{city}的火车票"],
    ),
]
