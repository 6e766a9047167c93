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
        "i",
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
        "for",
        "explain",
        "describe",
        "give",
        "let",
        "wondering",
        "curious",
        "in",
        "there",
        "degree",
        "degrees",
        "cheers",
        "sorry",
        "greetings",
        "dear",
        "folks",
        "guys",
        "hiya",
        "yo",
    ]
)

# Politeness phrases dropped as a whole (matched case-insensitively on word boundaries): their
# words are not fillers on their own ("much", "was", "one" matter elsewhere).
FILLER_PHRASES = (
    r"sorry (?:to|for) (?:bother|trouble|disturb)(?:ing)? you(?:,? but)?",
    r"sorry,? but",
    r"i (?:was|am|'m) (?:just )?wondering(?: if| whether)?(?: you could tell me| you know)?",
    r"(?:thanks|thank you|thx|ty)(?: (?:so|very))?(?: much)?(?: in advance)?"
    r"(?: for (?:your|the) help)?",
    r"many thanks|thanks a (?:lot|bunch|ton|million)|much appreciated|appreciate it",
    r"i appreciate (?:it|your help)",
    r"(?:any )?help (?:would be |is |will be )?(?:much |greatly |really )?appreciated",
    r"(?:hi|hello|hey|greetings)(?: there| everyone| all| friend| team)?",
    r"good (?:morning|afternoon|evening|day)",
    r"excuse me|pardon me|if you (?:don't|do not) mind|if possible",
    r"when you have a (?:moment|minute)",
    r"(?:could|can|would|will) you (?:please |kindly )?(?:tell|show|give|let) me(?: know)?",
    r"(?:could|can|would|will) you (?:please |kindly )?(?:help|explain)(?: me)?(?: with)?",
    r"(?:do|does) (?:you|anyone|anybody) (?:happen to )?know(?: if| whether)?",
    r"i(?:'d| would) (?:like|love) to (?:know|ask)|i (?:want|need|wanted) to (?:know|ask)",
    r"i(?:'m| am) (?:curious|wondering)(?: about)?|out of curiosity|just curious",
    r"(?:just )?(?:a |one )?quick (?:one|question|q)|question for you",
    r"i have a (?:quick )?question(?: for you)?",
    r"(?:please )?(?:tell|show|give|let) me(?: know)?|help me(?: out)?(?: with)?|by the way|btw",
    r"(?:if )?you (?:know|can)|(?:is|are) there any(?:one| way)? who can tell me",
)

# Words that make a question about the asker's own data: "my invoices" is not "the invoices".
SCOPE_WORDS = frozenset(["my", "mine", "me", "myself", "our", "ours", "us", "ourselves"])
CJK_SCOPE_PHRASES = ("我们的", "咱们的", "我的", "本人的", "自己的", "我自己")

# Booleans and nulls of JSON and code: "safe: true" is not "safe: false".
LITERALS = frozenset(["true", "false", "null", "nil", "undefined", "nan"])

# A unit after one of these is an argument, not a topic: "from A to B" is not "from B to A".
ROLE_MARKERS = frozenset(["from", "to", "into", "than", "by", "per", "towards", "onto", "versus"])
CJK_ROLE_MARKERS = frozenset("从到比往至给向成")

# Units and currencies, by canonical name. Unit words belong to the ``units`` guard, not to
# ``content``: "$20" is "20 dollars", "5 km" is "5 kilometres", but never "5 miles".
UNITS: dict[str, tuple[str, ...]] = {
    "mile": ("mile", "miles", "mi", "英里"),
    "km": ("km", "kms", "kilometre", "kilometres", "kilometer", "kilometers", "公里", "千米"),
    "m": ("metre", "metres", "meter", "meters", "米"),
    "cm": ("cm", "centimetre", "centimetres", "centimeter", "centimeters", "厘米"),
    "mm": ("mm", "millimetre", "millimetres", "millimeter", "millimeters", "毫米"),
    "inch": ("inch", "inches", "英寸"),
    "foot": ("ft", "foot", "feet", "英尺"),
    "yard": ("yard", "yards", "yd", "yds", "码"),
    "kg": ("kg", "kgs", "kilogram", "kilograms", "kilo", "kilos", "公斤", "千克"),
    "g": ("gram", "grams", "gramme", "grammes", "克"),
    "lb": ("lb", "lbs", "pound", "pounds", "磅"),
    "oz": ("oz", "ounce", "ounces", "盎司"),
    "stone": ("stone", "stones"),
    "l": ("litre", "litres", "liter", "liters", "升"),
    "ml": ("ml", "millilitre", "millilitres", "milliliter", "milliliters", "毫升"),
    "gal": ("gal", "gallon", "gallons", "加仑"),
    "cup": ("cup", "cups"),
    "°C": ("celsius", "centigrade", "°c", "℃", "摄氏度", "摄氏"),
    "°F": ("fahrenheit", "°f", "℉", "华氏度", "华氏"),
    "K": ("kelvin", "kelvins", "开尔文"),
    "USD": ("$", "dollar", "dollars", "usd", "bucks", "美元", "美金"),
    "EUR": ("€", "euro", "euros", "eur", "欧元"),
    "GBP": ("£", "gbp", "sterling", "英镑"),
    "JPY": ("yen", "jpy", "日元"),
    "CNY": ("yuan", "rmb", "cny", "renminbi", "人民币"),
    "¥": ("¥", "￥"),
    "INR": ("₹", "rupee", "rupees", "inr"),
    "%": ("%", "percent", "per cent", "percentage", "百分之"),
    "s": ("second", "seconds", "sec", "secs", "秒"),
    "min": ("minute", "minutes", "mins", "分钟"),
    "h": ("hour", "hours", "hr", "hrs", "小时"),
    "day": ("day", "days"),
    "week": ("week", "weeks", "星期"),
    "month": ("month", "months"),
    "year": ("year", "years"),
    "B": ("byte", "bytes"),
    "KB": ("kb", "kilobyte", "kilobytes"),
    "MB": ("mb", "megabyte", "megabytes"),
    "GB": ("gb", "gigabyte", "gigabytes"),
    "TB": ("tb", "terabyte", "terabytes"),
    "KiB": ("kib",),
    "MiB": ("mib",),
    "GiB": ("gib",),
    "mph": ("mph",),
    "kmh": ("kph", "kmh", "km/h"),
    "W": ("watt", "watts"),
    "kW": ("kw", "kilowatt", "kilowatts"),
    "kWh": ("kwh",),
    "cal": ("calorie", "calories", "kcal", "卡路里"),
}
UNIT_OF: dict[str, str] = {form: unit for unit, forms in UNITS.items() for form in forms}
CJK_UNIT_WORDS = tuple(
    sorted((f for f in UNIT_OF if not f.isascii() and len(f) > 1), key=len, reverse=True)
)

# Opposites that flip an answer as surely as a "not" does (both tiers; the semantic tier would
# otherwise take "high in iron" for "low in iron").
ANTONYMS: tuple[tuple[str, str], ...] = (
    ("high", "low"), ("higher", "lower"), ("highest", "lowest"), ("hot", "cold"),
    ("warm", "cool"), ("big", "small"), ("bigger", "smaller"), ("large", "small"),
    ("larger", "smaller"), ("largest", "smallest"), ("biggest", "smallest"), ("long", "short"),
    ("longer", "shorter"), ("fast", "slow"), ("faster", "slower"), ("fastest", "slowest"),
    ("cheap", "expensive"), ("cheaper", "dearer"), ("cheapest", "priciest"), ("best", "worst"),
    ("better", "worse"), ("good", "bad"), ("increase", "decrease"), ("increases", "decreases"),
    ("raise", "lower"), ("up", "down"), ("open", "close"), ("opens", "closes"), ("open", "closed"),
    ("on", "off"), ("enable", "disable"), ("enabled", "disabled"), ("allow", "deny"),
    ("allowed", "denied"), ("add", "remove"), ("include", "exclude"), ("includes", "excludes"),
    ("before", "after"), ("first", "last"), ("start", "end"), ("start", "stop"), ("buy", "sell"),
    ("safe", "unsafe"), ("safe", "dangerous"), ("legal", "illegal"), ("max", "min"),
    ("maximum", "minimum"), ("more", "less"), ("more", "fewer"), ("most", "least"),
    ("above", "below"), ("over", "under"), ("inside", "outside"), ("import", "export"),
    ("upload", "download"), ("encrypt", "decrypt"), ("encode", "decode"), ("win", "lose"),
    ("push", "pull"), ("login", "logout"), ("asc", "desc"), ("ascending", "descending"),
    ("input", "output"), ("paid", "unpaid"), ("yes", "no"),
    ("高", "低"), ("热", "冷"), ("大", "小"), ("多", "少"), ("快", "慢"), ("贵", "便宜"),
    ("好", "坏"), ("开", "关"), ("增", "减"), ("买", "卖"), ("前", "后"), ("上", "下"),
    ("长", "短"), ("早", "晚"), ("订", "退"), ("登录", "退出"), ("注册", "注销"),
    ("安装", "卸载"), ("加", "减"), ("进", "出"), ("收", "发"),
)  # fmt: skip
_ANTONYM_MAP: dict[str, set[str]] = {}
for _a, _b in ANTONYMS:
    _ANTONYM_MAP.setdefault(_a, set()).add(_b)
    _ANTONYM_MAP.setdefault(_b, set()).add(_a)
ANTONYMS_OF: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in _ANTONYM_MAP.items()}

# Common misspellings of Chinese words by a character that sounds the same (the input method
# offered the wrong one): the wrong form is read as the right one.
CJK_HOMOPHONES: dict[str, str] = {
    "登陆": "登录", "帐号": "账号", "帐户": "账户", "帐单": "账单", "布署": "部署",
    "按装": "安装", "在次": "再次", "以经": "已经", "作饭": "做饭", "其它": "其他",
    "秘码": "密码", "蜜码": "密码", "检察": "检查", "佩置": "配置", "设制": "设置",
    "须要": "需要", "已后": "以后", "再哪": "在哪", "在见": "再见",
    "象这样": "像这样", "好象": "好像",
    "即然": "既然", "既使": "即使", "做为": "作为",
    "下栽": "下载", "删徐": "删除", "修该": "修改", "注消": "注销",
    "支负": "支付", "发漂": "发票", "定单": "订单", "优慧券": "优惠券",
    "帐期": "账期", "服物器": "服务器", "服务气": "服务器", "数据裤": "数据库",
    "程式": "程序", "编绎": "编译", "调式": "调试", "运形": "运行", "奔溃": "崩溃",
    "崩馈": "崩溃", "网落": "网络", "连结": "连接", "联接": "连接", "密玛": "密码",
    "重至": "重置", "找会": "找回", "天汽": "天气", "几点种": "几点钟",
    "多长实间": "多长时间", "时侯": "时候",
}  # fmt: skip
CJK_HOMOPHONES = {k: v for k, v in CJK_HOMOPHONES.items() if k != v}

# Words written with numeral characters that are not numbers (一起 "together", 一下 "a bit").
CJK_NOT_NUMBERS = (
    "一起", "一下", "一样", "一直", "一定", "一般", "一些", "一切", "一点", "统一", "唯一",
    "万一", "一旦", "之一", "一边", "一共", "一致", "一向", "一时", "一面", "一方面", "千万",
    "万万", "百分之", "三明治", "十分", "一会", "不一", "百度", "百货", "一流", "三角",
    "四川", "九寨沟", "三亚", "五金", "八卦", "千千", "七夕",
)  # fmt: skip

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
CJK_FILLER_PHRASES = tuple(
    sorted(
        [
            "你好", "您好", "大家好", "请问", "麻烦问一下", "麻烦问下", "麻烦你", "麻烦您",
            "麻烦了", "麻烦", "打扰一下", "打扰了", "打扰", "请教一下", "请教", "我想问一下",
            "我想问下", "我想问", "想问一下", "想问下", "想请问", "我想请问", "我想知道",
            "想知道", "告诉我", "能告诉我", "可以告诉我", "你知道", "您知道", "谢谢你",
            "谢谢您", "谢谢", "多谢", "感谢", "劳驾", "帮我看看", "一下", "请", "吗", "呢",
            "吧", "啊", "呀", "的", "了", "哦", "嘛", "呗", "啦",
        ],
        key=len,
        reverse=True,
    )
)  # fmt: skip

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
