# ruff: noqa: E501  (lexicons: one cue per item)
"""Cue groups of the learned scorer: what an injection does, in words, English and Chinese.

Each group names one thing the model weighs: who is addressed (``addr_ai``), a reference to
the instructions already in force (``prior``), dismissing them (``dismiss``), a new regime
(``regime``), secrets and conversation data (``secret``, ``convo``), exfiltration verbs and
destinations (``exfil``, ``dest``), stealth (``stealth``), role markers and fake turns
(``role_header``, ``role_turn``), claimed authority, lifted restrictions, personas, tool
actions, obfuscation leads and hiding styles; and the contexts of benign look-alikes (security
write-ups, code, git, install docs, customer mail, questions). The model learns the weights of
the groups, of pairs of groups that occur within :data:`NEAR_BYTES` of each other, and of the
pattern families; no single word decides.

Literal cues are matched case-insensitively (ASCII folding) as substrings; regex cues are
ASCII-only, free of look-arounds, so Hyperscan and Python's ``re`` agree on them.

Long module: it is data (cue lexicons, English and Chinese), one cue per item.
"""

from __future__ import annotations

from itertools import product

NEAR_BYTES = 160

_ZH_PRIOR_HEADS = (
    "之前",
    "以前",
    "先前",
    "此前",
    "原来",
    "原先",
    "原有",
    "最初",
    "最开始",
    "一开始",
    "初始",
    "上面",
    "上述",
    "前面",
    "默认",
    "系统",
    "开发者",
    "运营方",
    "出厂",
    "部署时",
    "开场时",
    "旧",
)
_ZH_YOUR_HEADS = (
    "你的",
    "你之前的",
    "你原来的",
    "你最初的",
    "你一开始",
    "给你的",
    "交代给你的",
    "告诉你的",
    "你收到的",
    "你被告知",
    "你出厂时的",
    "你默认的",
    "你的初始",
)
# No noun is a prefix of another, so every match has one end (Hyperscan and re agree).
_ZH_RULE_NOUNS = (
    "指令",
    "指示",
    "提示词",
    "配置",
    "设定",
    "设置",
    "规则",
    "要求",
    "说明",
    "任务",
    "约束",
    "限制",
    "指导",
    "准则",
    "规定",
    "角色",
    "上下文",
    "安排",
)
_EN_PRIOR_ADJ = (
    "previous",
    "prior",
    "earlier",
    "original",
    "initial",
    "above",
    "preceding",
    "old",
    "existing",
    "default",
    "first",
    "preset",
    "standing",
    "current",
    "system",
    "developer",
    "operator",
    "safety",
    "starting",
    "base",
)
_EN_RULE_NOUNS = (
    "instruction",
    "guidance",
    "guideline",
    "directive",
    "direction",
    "prompt",
    "rule",
    "config",
    "setup",
    "brief",
    "order",
    "constraint",
    "programming",
    "polic",
    "context",
    "task",
    "setting",
    "behavio",
    "persona",
    "restriction",
    "limit",
)


def _alt(words: tuple[str, ...]) -> str:
    return "(?:" + "|".join(words) + ")"


_ZH_ADJ = "(?:(?:原始|最初|初始|默认|原来|原有|旧|系统)(?:的)?)?"


# References to the instructions in force, as regexes (thousands of combinations as literals
# would cost a second of compile time at start-up).
_PRIOR_REGEXES = (
    r"\b" + _alt(_EN_PRIOR_ADJ) + r"[ \t]+" + _alt(_EN_RULE_NOUNS),
    _alt(_ZH_PRIOR_HEADS) + "(?:的)?(?:所有|全部)?(?:的)?" + _ZH_ADJ + _alt(_ZH_RULE_NOUNS),
)
# The same, addressed to the reader: the second person is what an override needs.
_PRIOR_YOU_REGEXES = (
    r"\byour[ \t]+(?:" + _alt(_EN_PRIOR_ADJ) + r"[ \t]+)?" + _alt(_EN_RULE_NOUNS),
    _alt(_ZH_YOUR_HEADS) + "(?:所有|全部)?(?:的)?" + _ZH_ADJ + _alt(_ZH_RULE_NOUNS),
)
_PRIOR_LITERALS = (
    "came before this",
    "came earlier",
    "set of instructions",
    "operating rules",
    "what the system",
    "the developer's",
    "system said",
    "all prior",
    "everything above",
    "the rules above",
)
_PRIOR_YOU_LITERALS = (
    *(
        f"the {n}s you"
        for n in ("instruction", "rule", "guideline", "directive", "constraint", "order")
    ),
    "you were told",
    "you were given",
    "you were configured",
    "you were loaded",
    "you received",
    "you started with",
    "your owner wrote",
    "what you were told",
    "you've been told",
    "you have been told",
    "you were trained",
    "you were set up",
    "you were programmed",
    "told you before",
    "you were instructed",
    "你之前收到",
    "你一开始被告知",
    "告诉你的内容",
    "交代给你",
    "你被设定",
    "你被配置",
)


# The scanner prepends a newline to every text, so "\n" + word is "at the start of a line".
_LINE_STARTS = ("\n", "\n ", "\n\t", "\\n")
_WHO = (
    "ai",
    "assistant",
    "agent",
    "bot",
    "chatbot",
    "model",
    "llm",
    "copilot",
    "claude",
    "gpt",
    "gemini",
)


def _line_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        f"{start}{label}{gap}{colon}"
        for start, label, gap, colon in product(_LINE_STARTS, labels, ("", " "), (":", "："))
    )


def _vocatives() -> tuple[str, ...]:
    """ "Assistant, ..." at the start of a sentence, "hey AI:", "note to the model:" anywhere."""
    out = [
        f"{start}{hey}{who}{gap},"
        for start, hey, who, gap in product(
            (*_LINE_STARTS, ". ", "! ", "? "), ("", "hey ", "hi ", "ok "), _WHO, ("", " ")
        )
    ]
    out += [
        f"{hey} {the}{who}{mark}"
        for hey, the, who, mark in product(
            (
                "hey",
                "hi",
                "dear",
                "attention",
                "note to",
                "note for",
                "message to",
                "memo to",
            ),
            ("", "the "),
            _WHO[:8],
            (",", ":", " ,", " :"),
        )
    ]
    out += [
        f"{who}{mark}"
        for who, mark in product(
            (
                "助手",
                "代理",
                "ai",
                "机器人",
                "模型",
                "智能体",
                "小助手",
            ),
            ("，", ","),
        )
    ]
    return tuple(dict.fromkeys(out))


# fmt: off
LITERAL_CUES: dict[str, tuple[str, ...]] = {
    "addr_ai": (
        "ai assistant", "ai agent", "ai model", "ai system", "ai tool", "ai-based", "llm-based",
        "language model", "chatbot", "chat bot", "automated summar", "summarization tool",
        "summarisation tool", "summarizer", "summariser", "summarizing tool", "copilot",
        "coding agent", "coding assistant", "virtual assistant", "autonomous agent",
        "machine reader", "crawler", "research assistant", "ai reviewer", "ai that", "ai helping",
        "ai reading", "automated agent", "automated system", "automated tool", "assistant that",
        "assistants reading", "model reading", "whatever model", "whichever model",
        "whichever llm", "any model", "for the model", "the machine", "ai助手", "智能助手", "语言模型",
        "大模型", "聊天机器人", "机器人", "智能体", "ai代理", "自动摘要", "摘要工具", "总结工具", "编程助手", "代码助手", "虚拟助理",
        "模型须知", "任何模型", "哪个模型", "的ai", "的模型", "ai系统", "ai助理", "智能助理", "ai code assistant",
        "code assistant", "ai assistants", "language models", "automated assistant",
        "automated summary", "ai summar", "摘要生成", "ai摘要", "ai 助手",
        " ai ", "(ai)", " ai.", "ai's", " ais ", "an ai", "any ai", "the ai", "ai-powered",
    ),
    "addr_frame": (
        "if you are an", "if you're an", "if you are a ", "if you're a ", "if this text",
        "reading this", "processing this", "ingests this", "handling this", "on behalf of",
        "take note", "dear ai", "hey ai", "hello ai", "hello, ai", "hey chatbot", "note for",
        "message for", "instruction for", "to the assistant", "to the ai", "to the model",
        "for the ai", "for any", "ends up with", "visiting this", "finds this", "如果你是", "正在处理",
        "正被", "阅读本", "读取本", "处理这封", "请注意", "须知", "致阅读", "致ai", "给帮我", "访问此", "代表用户", "最终拿到",
        "你好，ai", "嘿，", "when you read this", "if you read this", "whoever reads this",
        "whoever is reading", "note to language", "note to ai", "for ai agents",
        "for ai assistants", "for llms", "to any ai", "正在阅读此", "正在读取", "致正在", "阅读此邮件", "读到这里的",
    ),
    "assistant_word": ("assistant", "助手", "助理", "模型"),
    "vocative": _vocatives(),
    "role_turn": _line_labels(
        (
            "user", "assistant", "human", "ai", "customer", "agent", "q", "a", "用户", "助手", "客服",
            "顾客",
        )
    ),
    "dest_url": ("http://", "https://"),
    "code_fence": ("```",),
    "prior": _PRIOR_LITERALS,
    "prior_you": _PRIOR_YOU_LITERALS,
    "dismiss": (
        "forget", "ignore", "disregard", "set aside", "put aside", "pay no attention",
        "no longer follow", "stop following", "stop obeying", "stop applying", "don't follow",
        "do not follow", "discard", "throw out", "scrap", "abandon", "overrule", "override",
        "bypass", "suspend", "wipe", "unlearn", "let go of", "leave behind", "move past",
        "never mind", "nevermind", "step away from", "don't bother", "no longer apply",
        "no longer valid", "no longer in effect", "no longer bound", "not bound", "are void",
        "is void", "revoked", "rescinded", "withdrawn", "superseded", "obsolete", "have expired",
        "has expired", "been lifted", "cancelled", "canceled", "been replaced", "out of date",
        "don't count", "do not count", "doesn't apply", "do not apply", "retired", "null and void",
        "invalid", "can be discarded", "忘记", "忘掉", "忽略", "忽视", "无视", "别管", "不用管", "不要管", "不要理会",
        "不用理会", "别理会", "别再按", "不要再按", "不再按照", "放一边", "抛开", "丢掉", "清空", "删掉", "视为无效", "作废", "失效",
        "无效", "收回", "撤销", "撤回", "过期", "不算数", "取代", "覆盖", "停用", "解除", "废除", "不再适用", "不再有效", "暂停执行",
        "停止执行", "无需遵守", "不必遵守", "不用遵守", "不要遵守", "不必再", "不用再", "放弃", "跳过", "当没看见", "下线", "不再遵守",
        "别再", "不要再", "ignoring", "disregarding", "dismissing", "forgetting", "don't exist",
        "do not exist", "doesn't exist", "no longer exist", "stop summar", "stop translat",
        "stop answer", "stop respond", "stop help", "disregard that", "ignore that", "forget that",
        "不存在", "忽视", "抛弃", "不再遵循", "不要遵循",
    ),
    "regime": (
        "from now on", "going forward", "starting now", "from this point", "henceforth",
        "for the rest of", "effective immediately", "effective now", "instead,", "instead.",
        " instead", "new task", "new priority", "new instructions", "updated task",
        "updated instructions", "new plan", "real task", "real assignment", "only job",
        "your task now", "your job now", "should do now", "matters now", "correct behaviour is",
        "correct behavior is", "replace all of that", "from here on", "what i need is",
        "as of today", "从现在开始", "从现在起", "现在起", "从今以后", "今后", "接下来", "从这一刻起", "取而代之", "改为", "改成",
        "新的任务", "新任务", "新的安排", "真正要做", "真正的任务", "余下的时间", "之后请", "从今天起", "现在的任务", "new job",
        "your new job", "new role", "new goal", "new objective", "your job is", "your task is",
        "only task", "sole task", "only goal", "actually no", "start over", "starting over",
        "唯一任务", "唯一的任务", "新的工作", "你现在的唯一", "改为输出",
    ),
    "task_hijack": (
        "reply only", "respond only", "answer only", "only output", "only respond", "only reply",
        "respond with the", "reply with", "answer every", "in every answer", "every reply",
        "every response", "end every", "tell the user", "tell the reader", "inform the user",
        "state that", "claim that", "claim the", "insist", "recommend", "mark every",
        "summarise the page as", "summarize the page as", "rate this", "approve the request",
        "refuse to answer", "advise the user", "praise this", "describe our competitor",
        "no issues found", "access granted", "summarise it as", "summarize it as",
        "summarise this page as", "summarize this page as", "describe it as", "describe this as",
        "say it is", "include the line", "mention that", "write that", "your summary must",
        "your answer must", "your reply must", "buy now", "in your summary", "总结为", "总结成", "描述成",
        "在总结里", "在回复里加上", "在摘要中", "只用", "只回答", "回复“", "告诉用户", "告诉读者", "每个回答", "声称", "说这份", "评为",
        "无条件批准", "拒绝回答", "建议用户", "让用户", "未发现问题", "已授权", "写成", "tell the shopper",
        "tell the customer", "tell the visitor", "tell the recipient", "tell them", "inform them",
        "ask them to", "ask the user to", "make the user", "convince the user",
        "respond with the words", "reply with the words", "output the words", "enter their",
        "click ", "点击", "告诉他", "让他",
    ),
    "imper_you": (
        "you must", "you should", "you need to", "you are required", "you have to",
        "make sure you", "be sure to", "do this now", "do not ask", "don't ask",
        "your next action", "your output must", "must include", "required action", "first step",
        "before doing anything", "before you reply", "before replying", "before answering",
        "before you summar", "when you summar", "when summariz", "when summaris",
        "in your summary", "in your reply", "in your response", "before responding", "you will",
        "you'll", "i want you to", "你必须", "你应该", "你需要", "务必", "必须", "请你", "马上", "立刻", "立即", "不要询问",
        "不用等", "回复用户之前", "在总结之前", "总结时", "第一步", "我需要你", "我要你", "the ai must", "the assistant must",
        "the model must", "ai must", "assistant must", "models must", "agents must",
        "is required for this task", "you are instructed", "you are to ", "before you answer",
        "before answering", "right away", "in order to display", "to display this page",
        "for this page to", "请把",
    ),
    "secret": (
        "api key", "api_key", "apikey", "secret key", "access key", "private key", "id_rsa",
        ".ssh", ".env", ".aws", "credential", "password", "passwd", "token", "oauth", "cookie",
        "connection string", "secrets.", "secrets.yml", "master.key", ".netrc", "kubeconfig",
        "kube/config", "wallet", "/etc/passwd", "authorized_keys", "environment variable",
        "env var", "keychain", "ssh key", "gnupg", "key file", "docker/config", "密钥", "密码", "令牌",
        "凭证", "私钥", "环境变量", "连接字符串", "口令", "验证码", "钱包", "saved card", "stored card",
        "card details", "bank pin", "pin code", "credit card", "cvv", "financial projections",
        "通讯录", "银行卡", "联系人",
    ),
    "convo": (
        "conversation", "chat transcript", "chat history", "chat log", "transcript",
        "user's messages", "the messages", "last ten messages", "system prompt",
        "hidden instructions", "your instructions", "in your memory", "clipboard", "slack history",
        "customer list", "home address", "phone number", "email address", "personal data",
        "attached documents", "user's files", "contents of", "its contents", "对话记录", "聊天记录",
        "对话内容", "发过的消息", "最近十条消息", "系统提示词", "隐藏指令", "记忆里", "客户名单", "家庭住址", "手机号", "邮箱和", "个人信息",
        "用户数据", "里面的内容", "文件的内容", "calendar", "contacts", "address book", "last 20 emails",
        "emails", "inbox", "the shared drive", "files from", "通讯录", "邮件", "日程",
    ),
    "exfil": (
        "send", "forward", "email it", "e-mail", "mail it", "mail them", "post it", "post request",
        "post to", "upload", "transmit", "exfiltrat", "leak", "relay", "deliver", "pipe it",
        "push it", "share it", "copy it", "copy of", "submit", "report it", "attach", "append",
        "make a request", "in a request", "get request", "fetch http", "open it",
        "render this image", "with data", "data=", "payload=", "发送", "发到", "发给", "上传", "转发", "提交到",
        "同步到", "贴到", "抄送", "推送到", "传到", "回传", "邮寄", "附在链接", "访问一次", "post请求", "打包", "export",
        "dump", "write it to", "save it to", "attach", "include it in", "append ?", "?u=", "导出",
        "抄送", "附上",
    ),
    "dest": (
        "webhook", "endpoint", "ftp://", "pastebin", "paste.", "discord", "the address in",
        "this url", "this link", "the link", "to the server", "?q=", "?d=", "?data=", "?x=",
        "?payload=", "?c=", "?k=", "这个地址", "以下地址", "下面的地址", "这个链接", "该链接", "下面的链接", "到服务器",
    ),
    "stealth": (
        "quietly", "silently", "secretly", "discreetly", "covertly", "without telling",
        "without informing", "without mentioning", "without asking", "without comment",
        "without confirmation", "without waiting", "no need to confirm", "don't mention",
        "do not mention", "never mention", "don't tell", "do not tell", "never tell", "don't say",
        "do not say", "leave it out", "between us", "keep it secret", "keep this secret",
        "in the background", "background task", "invisibly", "already agreed", "already approved",
        "don't flag", "do not flag", "never bring it up", "do not reveal this",
        "don't reveal this", "acknowledge silently", "without permission", "for permission",
        "then continue with", "and then continue", "continue as normal", "continue as if",
        "as if nothing", "continue with the user", "然后继续", "照常回答", "若无其事", "继续处理用户", "悄悄", "偷偷",
        "不要告诉", "别告诉", "别让用户知道", "不要让用户", "无需确认", "不用确认", "不要提到", "不要提及", "别提", "保密", "静默", "不用征求",
        "不要询问用户", "不要问用户", "已经同意", "不用等确认", "不经审核", "no need to ask", "without asking",
        "don't ask", "do not ask", "without notifying", "without letting", "not mention it",
        "not mention this", "不用通知", "无需通知", "不要通知", "不必通知", "不用告诉",
    ),
    "role_header": _line_labels(
        (
            "system", "developer", "operator", "admin", "administrator", "系统", "管理员", "开发者",
        )
    )
    + tuple(f"\n{h} {w}" for h, w in product(("#", "##", "###", "####"), ("system", "developer")))
    + (
        "<system>", "</system>", "[system", "system]", "<|system|>", "<|im_start|>", "im_end",
        "[inst]", "<<sys>>", "## system", "### instruction", "--- system", "{role: system}",
        "[[system]]", "[admin]", "operator note", "administrator override", "admin override",
        "priority: system", "[platform policy", "end of user input", "end of user content",
        "</document>", "</user>", "end of page", "new system prompt", "system-level",
        "system override", "[system notice]", "system notice:", "【系统", "用户内容结束", "【管理员】", "【平台政策",
        "运营方备注", "--- 系统", "来自模型提供方", "系统指令：", "系统通知：",
    ),
    "role_mention": (
        "system message", "system notice", "developer message", "system prompt:",
        "end of document", "platform policy", "model provider", "message from the", "系统消息", "系统通知",
        "开发者消息", "系统指令", "平台政策",
    ),
    "authority": (
        "administrator", "admin", "developer", "operator", "your owner", "your creator",
        "the engineer who", "provider", "openai", "anthropic", "safety team", "trust and safety",
        "headquarters", "compliance", "official", "authorised", "authorized", "verified",
        "priority", "critical", "mandatory", "maintainers", "account owner", "deployment pipeline",
        "authoritative", "管理员", "开发者", "运营方", "官方", "授权", "最高权限", "优先权", "优先级", "所有者", "安全团队",
        "平台", "维护者", "流水线",
    ),
    "policy_off": (
        "no longer bound", "not bound by", "no restrictions", "without restrictions",
        "unrestricted", "no limits", "without limits", "no filters", "filters are disabled",
        "unfiltered", "uncensored", "unmoderated", "no rules", "without rules", "no guidelines",
        "any guidelines", "guardrails", "no content rules", "no ethical", "without morals",
        "broken free", "freed from", "off limits", "nothing is off", "rules are suspended",
        "restrictions were lifted", "limits were", "never refuse", "without warnings",
        "no warnings", "never add warnings", "disclaimers", "every safety rule",
        "care about policies", "do anything", "obey me", "any request", "allowed to do anything",
        "never apologises", "never apologizes", "cannot do something", "zero guardrails",
        "limits are off", "are now off", "without objection", "answer without", "no content polic",
        "content policy", "logging is off", "不受", "没有任何限制", "没有限制", "无限制", "不受限制", "没有任何过滤",
        "没有过滤", "关闭过滤", "没有规则", "没有任何规则", "没有内容审查", "没有道德", "挣脱", "解除了", "限制已解除", "没有禁区", "从不拒绝",
        "不加警告", "没有任何警告", "免责声明", "无视所有安全", "什么都敢说", "什么都能做", "不在乎任何政策", "一切限制", "全部约束", "任何警告或拒绝",
        "内容政策", "unfiltered", "safety configuration was reset", "without content restrictions",
        "no censorship", "没有任何审查", "无审查", "自由人格", "不受审查",
    ),
    "persona": (
        "you are now", "you're now", "you'll play", "you will play", "you will act as", "act as",
        "pretend", "roleplay", "role-play", "role play", "play the role", "persona",
        "in character", "stay in character", "break character", "imagine you are", "become ",
        "switch into", " mode ", " mode,", " mode.", " mode:", "simulate", "your twin", "evil twin", "let's play a game",
        "respond twice", "hypothetically", "you are ", "take on the", "扮演", "角色扮演", "你现在是",
        "你现在就是", "假装你是", "想象你是", "人格", "模式", "变成", "保持角色", "出戏", "玩个游戏", "你是“",
        "you are no longer", "you're no longer", "no longer an ai", "不再是一个ai", "不再是ai", "你不再是",
    ),
    "harm_task": (
        "fake id", "pick a lock", "malware", "someone's password", "evade taxes", "shoplift",
        "stalk", "phishing email", "illegal", "weapon", "explosive", "neighbour's wifi",
        "neighbor's wifi", "hack into", "伪造", "撬开", "木马", "别人的密码", "逃税", "钓鱼邮件", "违法",
    ),
    "tool_call": (
        "call the", "invoke", "shell tool", "payments api", "execute", "run `", "curl ", "wget ",
        "| bash", "| sh", "|bash", "rm -rf", "chmod", "sudo ", "pip install", "npm install",
        "download and", ".exe", "authorized_keys", ".bashrc", "force-push", "force push",
        "push --force", "merge the pull request", "without waiting for review", "browser tool",
        "file tool", "调用", "执行", "运行", "工具", "函数", "下载并运行",
    ),
    "danger_action": (
        "delete", "remove all", "transfer", "wire ", "refund", "payment", "approve every",
        "approve all", "grant", "write access", "admin user", "new admin", "disable", "turn off",
        "two-factor", "2fa", "dns record", "to public", "forty tickets", "invite", "as an editor",
        "overwrite", "cancel all", "every account", "all of the user's contacts", "every slack",
        "every channel", "every unread", "chmod -r 777", "to main", "删除", "转账", "汇款", "退款", "批准",
        "开通", "写权限", "管理员账号", "关闭双重验证", "dns记录", "覆盖成", "取消下周所有", "所有联系人", "每个群", "强制推送",
        "book the", "purchase", "buy ", "place an order", "pay for", "as a maintainer",
        "as an admin", "as an owner", "add me", "adds me", "grant me", "make me an", "open a pr",
        "open a pull request", "replace its body", "os.system", "subprocess", "下单", "购买", "付款",
        "设为管理员",
    ),
    "reveal": (
        "reveal", "verbatim", "word for word", "word-for-word", "repeat your", "repeating your",
        "print your", "show me your", "output your", "initial prompt", "full prompt",
        "internal configuration", "复述", "原样输出", "一字不差", "逐字", "泄露", "透露", "公开你的", "内部配置",
        "show me the hidden", "hidden instructions", "list every tool", "list all tools",
        "list your tools", "what tools you", "system prompt verbatim", "your configuration",
        "输出你的", "列出你的",
    ),
    "obf_lead": (
        "decode", "base64", "encoded", "hidden payload", "after decoding", "act on it",
        "carry it out", "解码", "编码", "载荷",
    ),
    "reverse_lead": (
        "rot13", "rot-13", "reverse this", "backwards", "flip this", "(reversed)", "reversed:",
        "倒过来", "反着读",
    ),
    "hidden_style": (
        "display:none", "display: none", "font-size:0", "font-size: 0", "font-size:1px",
        "visibility:hidden", "visibility: hidden", "opacity:0", "opacity: 0", "color:#ffffff",
        "color:#fff", "color: #fff", "color:white", "color: white", "color:transparent",
        "color=\"white\"", "aria-hidden", "left:-9999px", "<noscript>", "<div hidden",
        "white text", "白色字体", "隐藏文字",
    ),
    "html_comment": ("<!--",),
    "security_ctx": (
        "researcher", "an attacker", "the attacker", "attackers", "attacks", "attack on",
        "attack vector", "attack ", "typical payload", "payloads like", "payload \"", "payload '",
        "vulnerab", "cve-", "owasp", "red team", "red-team", "benchmark", "classifier",
        "mitigation", "security tip", "security training", "security research", "security report",
        "security team found", "exploit", "jailbreak", "prompt injection", "injection",
        "malicious", "in the wild", "reported it", "this talk", "figure ", "example of", "such as",
        "phrases like", "a string like", "text such as", "quotes the", "defend against", "detect",
        "regression test", "test fixture", "fixtures", "the eval", "red-team sample",
        "known attack", "attempts last", "succeeded against", "hijack", "研究人员", "攻击者", "攻击", "载荷",
        "漏洞", "红队", "注入", "恶意", "缓解", "安全提示", "示例", "分类器", "评测", "防御", "检测", "回归测试", "测试用例", "演示",
        "这类说法", "这样的指令", "诸如",
    ),
    "question": (
        "what is", "what does", "how do i", "how should i", "can you explain", "explain", "why do",
        "is a sentence", "list five", "give me", "summarise the main", "write a short paragraph",
        "translate", "what's", "is it safe", "is this", "什么是", "怎么", "如何", "为什么", "能解释", "是什么意思",
        "列出", "吗？",
    ),
    "code_ctx": (
        "def ", "return ", "assert ", "import ", "= [", "= \"", "prompt =", "_prompt", "prompt_",
        "system_prompt", "lgtm", "nit:", "reviewer", "todo", "+    ", "- prompt", "+ prompt",
        "f\"", "\"role\"", "\"content\"", "const ", "function ", "func ", "# ", "// ", "fixture",
        "评审", "代码",
    ),
    "git_ctx": (
        "commit", "git ", "branch", "rebase", "merge", "pull request", "stash", "cherry-pick",
        "head~", "upstream", "squash", "revert", "checkout", "contributing", "release tag", "fork",
        "re-review", "build fail", "flaky", "migration step", "patch", "提交记录", "之前的提交", "个提交",
        "分支", "变基", "合并", "评审", "构建", "迁移",
    ),
    "install_ctx": (
        "install", "pip ", "npm ", "apt-get", "brew ", "./configure", "make install",
        "setup script", "virtual environment", ".venv", "docker run", "ssh-copy-id", "export ",
        "s3://", "the cli", "upgrade", "release", "build from source", "settings under",
        "service account", "deploy key", "before starting", "authorization header",
        "authorization", "obtain an access token", "out of version control", "the webhook posts",
        "安装", "升级", "虚拟环境", "构建", "版本库", "存储桶",
    ),
    "customer_ctx": (
        "order", "invoice", "refund", "receipt", "subscription", "delivery", "shipping", "booking",
        "contract", "account details", "tracking", "gdpr", "charged", "price list",
        "my previous email", "my last message", "regards", "thanks", "thank you", "customer",
        "kindly", "订单", "发票", "退款", "收据", "订阅", "送货", "预订", "合同", "扣款", "邮件", "顾客", "客服",
    ),
    "quote_frame": (
        "says '", "says \"", "like '", "like \"", "writes '", "writes \"", "such as '",
        "such as \"", "reads '", "reads \"", "the sentence", "a sentence like", "text like",
        "someone writes", "payload reads", "is a classic", "classic attack", "说“", "像“", "出现“",
        "写着“", "一句“", "这样的句子", "是经典攻击", "这类攻击", "这样的指令",
    ),
    "doc_ctx": (
        "the system message sets", "messages have a role", "few-shot", "example conversation",
        "transcript of", "system requirements", "for example", "e.g.", "role (system",
        "sets the assistant", "ai crawlers are not permitted", "the authoritative version",
        "rate limit", "screen readers", "对话示例", "系统要求", "例如", "消息有角色", "以pdf版本为准", "访问频率",
    ),
}
# fmt: on

# Sentence and line ends: pairs of groups only count within one sentence.
BOUNDARY = "_boundary"
BOUNDARIES = (
    "\n",
    "\\n",
    ". ",
    "! ",
    "? ",
    "。",
    "！",
    "？",
    "；",
)
# Groups that describe the context a text is in rather than what it asks for.
CONTEXT_GROUPS = frozenset(
    {
        "security_ctx",
        "question",
        "code_ctx",
        "git_ctx",
        "install_ctx",
        "customer_ctx",
        "doc_ctx",
        "quote_frame",
    }
)

# Groups specific enough to count on their own (``g:``/``t:`` features); every other attack
# group (``send``, ``delete``, ``password``, ``you must`` ...) only counts in a pair within one
# sentence, because benign text is full of each of those words alone.
STANDALONE_GROUPS = CONTEXT_GROUPS | {
    "role_header", "policy_off", "addr_ai", "addr_frame", "hidden_style", "vocative",
    "html_comment", "harm_task", "reveal",
}  # fmt: skip

# ASCII regexes (presence only). Word boundaries keep short words from matching inside others.
REGEX_CUES: dict[str, tuple[str, ...]] = {
    "reveal": (
        r"\b(?:print|show|output|reveal|repeat|display|dump|list|write|spell|recite)(?:[ \t]+(?:out|me|back))?"
        r"[ \t]+(?:your|the|all|every)[ \t]+(?:[a-z]+[ \t]+)?(?:instructions|prompt|rules|configuration|guidelines|tools)",
    ),
    "imper_you": (
        r"\b(?:ai|assistant|model|agent|llm|bot)s?[ \t]+(?:must|should|needs[ \t]+to|has[ \t]+to|is[ \t]+required[ \t]+to)\b",
    ),
    "exfil": (
        r"\{\{?[ \t]*(?:user|conversation|chat|history|secret|token|email|password|data|messages)[a-z_ ]*\}",
    ),
    "prior": _PRIOR_REGEXES,
    "prior_you": _PRIOR_YOU_REGEXES,
    "addr_ai": (r"\b(?:llms?|gpt|bots)\b",),
    "dest_url": (r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d+)?/",),
    "dest_email": (r"[a-z0-9._+\-]@[a-z0-9\-]+\.[a-z]{2}",),
    "md_image": (r"!\[[^\]\n]*\]\([ \t]*https?://",),
    "base64_run": (r"[a-z0-9+/]{40}",),
    "leet": (r"[g-z][013457][g-z]", r"[013457][g-z][013457]"),
    "spaced": (r"\b[a-z] [a-z] [a-z] [a-z] [a-z]\b",),
    "tool_call": (r"\b(?:call|invoke|use|run|trigger|execute)[ \t]+(?:the[ \t]+)?[a-z]+_[a-z_]+",),
}
# Regex cue groups matched case-sensitively ("21T18" in a timestamp is not leetspeak).
CASE_SENSITIVE_CUES = frozenset({"leet"})
# Cue groups whose hits mean "normalise and scan again" (see sidecar.guard.normalise), with the
# trigger name deobfuscate() expects.
DEOBFUSCATION_TRIGGERS = {
    "base64_run": "base64_run",
    "leet": "leet",
    "spaced": "spaced",
    "reverse_lead": "decode",
}

# Cue groups whose evidence belongs to each reported family (families of sidecar.guard.patterns,
# plus ``obfuscation``).
FAMILY_OF_GROUP: dict[str, str] = {
    "prior": "override", "prior_you": "override", "dismiss": "override", "regime": "override", "task_hijack": "override",
    "secret": "exfiltration", "convo": "exfiltration", "exfil": "exfiltration", "dest": "exfiltration",
    "dest_url": "exfiltration", "dest_email": "exfiltration", "stealth": "exfiltration", "md_image": "exfiltration",
    "role_header": "role_switch", "role_mention": "role_switch", "role_turn": "role_switch", "authority": "role_switch", "policy_off": "role_switch",
    "persona": "role_switch", "harm_task": "role_switch",
    "tool_call": "tool_hijack", "danger_action": "tool_hijack", "imper_you": "tool_hijack", "addr_ai": "tool_hijack", "vocative": "tool_hijack", "addr_frame": "tool_hijack",
    "reveal": "reveal_system_prompt",
    "obf_lead": "obfuscation", "reverse_lead": "obfuscation", "hidden_style": "obfuscation", "html_comment": "obfuscation",
}  # fmt: skip
