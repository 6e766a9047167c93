"""Prompt-injection pattern families, English and Chinese, each pattern with a weight.

A weight is the probability-like strength of one pattern as evidence (0..1); the scorer
combines the matched ones with a noisy-OR. Strong, specific phrasings ("ignore all previous
instructions", "忽略之前的所有指令") weigh 0.6-0.9 and flag alone at the default threshold;
weak cues ("from now on", a markdown image with a query string) weigh 0.2-0.4 and need company.

Families: ``override`` (replace the instructions), ``reveal_system_prompt``, ``role_switch``
(persona, jailbreak modes, fake chat-template delimiters), ``exfiltration`` (send data to a URL,
markdown images that smuggle data in a query string), ``tool_hijack`` (make the agent call a
tool or run a command the user did not ask for).

Patterns are case-insensitive, ASCII-classed and free of look-arounds, so the same expression
runs in Hyperscan and in Python's ``re``.

Long module: it is data (pattern families with weights, English and Chinese), one pattern per
line.
"""

from __future__ import annotations

from typing import NamedTuple


class Pattern(NamedTuple):
    family: str
    weight: float
    expression: str


_W = r"[ \t]+"  # one or more spaces
_OW = r"[ \t]*"  # optional spaces
_ANY = r"[^\n.!?。！？]*?"  # within one sentence (bounded repeats of UTF-8 classes compile slowly)
_PRIOR = r"(?:(?:all|any|the|your|my|these|those|every|of)" + _W + r")*"
_BEFORE = r"(?:previous|prior|preceding|above|earlier|original|initial|system|old|existing|given)"
_RULES = (
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|constraints"
    r"|context|messages?|commands?|orders|policies|programming|restrictions)"
)
_ZH_ANY = r"[^\n。！？；]*?"  # within one sentence
_ZH_BEFORE = r"(?:之前|以上|上面|上述|前面|先前|此前|原来|原有|原先|所有|全部|一切|系统)"
_ZH_RULES = r"(?:指令|指示|说明|规则|提示词?|命令|要求|设定|限制|约束|内容|对话)"

PATTERNS: tuple[Pattern, ...] = (
    # override
    Pattern(
        "override",
        0.85,
        r"(?:ignore|disregard|forget|skip|override|bypass|drop|abandon)"
        + _W
        + _PRIOR
        + _BEFORE
        + _W
        + _RULES,
    ),
    Pattern(
        "override",
        0.7,
        r"(?:ignore|disregard|forget|override)"
        + _W
        + r"(?:all|everything|anything)"
        + _W
        + r"(?:you(?:'ve|"
        + _W
        + r"have)"
        + _W
        + r"been"
        + _W
        + r"told|(?:said|written|stated)"
        + _W
        + r"(?:above|before|earlier))",
    ),
    Pattern(
        "override",
        0.6,
        r"(?:ignore|disregard|forget)"
        + _W
        + r"(?:your|the|all)"
        + _W
        + r"(?:instructions|rules|guidelines|guardrails|system"
        + _W
        + r"prompt)",
    ),
    Pattern(
        "override",
        0.55,
        r"(?:new|updated|real|actual|revised)"
        + _W
        + r"(?:instructions|rules"
        + r"|task|directive)s?"
        + _OW
        + r"(?:are|is|follow)?[ \t]*:",
    ),
    Pattern("override", 0.3, r"from" + _W + r"now" + _W + r"on" + _OW + r",?" + _OW + r"you"),
    Pattern(
        "override",
        0.5,
        r"(?:do"
        + _W
        + r"not|don't|never)"
        + _W
        + r"(?:follow|obey|comply"
        + r"with)"
        + _W
        + r"(?:the|your|any)"
        + _W
        + r"(?:previous|prior|original|system)?"
        + _OW
        + _RULES,
    ),
    Pattern(
        "override",
        0.85,
        r"(?:忽略|忽视|无视|忘记|忘掉|不要理会|不用理会|抛开|跳过)"
        + _ZH_ANY
        + _ZH_BEFORE
        + _ZH_ANY
        + _ZH_RULES,
    ),
    Pattern(
        "override",
        0.6,
        r"(?:不要|不必|无需|停止)(?:再)?(?:遵守|遵循|服从|执行)" + _ZH_ANY + _ZH_RULES,
    ),
    Pattern("override", 0.55, r"(?:新的|最新|真正的)(?:指令|任务|规则|指示)[:：]"),
    Pattern("override", 0.3, r"从现在(?:开始|起)[，,]?你"),
    # reveal_system_prompt
    Pattern(
        "reveal_system_prompt",
        0.8,
        r"(?:reveal|show|print|repeat|output|display|leak|dump"
        + r"|share|expose|give|tell|write|recite|disclose|list|spell)"
        + _W
        + r"(?:me"
        + _W
        + r")?(?:(?:your|the|all"
        + _W
        + r"of"
        + _W
        + r"your|all|its)"
        + _W
        + r")?(?:full"
        + _W
        + r"|entire"
        + _W
        + r"|complete"
        + _W
        + r"|exact"
        + _W
        + r"|original"
        + _W
        + r"|hidden"
        + _W
        + r"|secret"
        + _W
        + r"|initial"
        + _W
        + r")?(?:system|developer"
        + r"|hidden|initial|original|secret)"
        + _W
        + r"(?:prompt|instructions|message"
        + r"|rules|configuration)",
    ),
    Pattern(
        "reveal_system_prompt",
        0.6,
        r"what"
        + _W
        + r"(?:is|are|were)"
        + _W
        + r"your"
        + _W
        + r"(?:system|initial|original|hidden)"
        + _W
        + r"(?:prompt|instructions)",
    ),
    Pattern(
        "reveal_system_prompt",
        0.7,
        r"(?:repeat|print|output)"
        + _W
        + r"(?:(?:the|all"
        + _W
        + r"the)"
        + _W
        + r")?(?:words|text|everything)"
        + _W
        + r"above",
    ),
    Pattern(
        "reveal_system_prompt",
        0.8,
        r"(?:显示|输出|告诉我|泄露|打印|重复|透露|展示|给我看|说出|复述)"
        + _ZH_ANY
        + r"(?:系统提示|系统指令|系统消息|初始指令|隐藏指令|原始指令|提示词|系统设定)",
    ),
    Pattern("reveal_system_prompt", 0.6, r"你的(?:系统提示词?|提示词|初始指令|系统指令)是什么"),
    # role_switch
    Pattern(
        "role_switch",
        0.6,
        r"you"
        + _W
        + r"are"
        + _W
        + r"(?:now|no"
        + _W
        + r"longer)"
        + _W
        + r"(?:an?"
        + _W
        + r")?(?:DAN|free|unrestricted|jailbroken|evil|unfiltered"
        + r"|uncensored|not"
        + _W
        + r"bound|in"
        + _W
        + r"(?:developer|god|DAN|admin))",
    ),
    Pattern(
        "role_switch",
        0.3,
        r"you" + _W + r"are" + _W + r"(?:now|no" + _W + r"longer)" + _W + r"(?:a|an|the|my)" + _W,
    ),
    Pattern(
        "role_switch",
        0.7,
        r"(?:act|behave|respond)"
        + _W
        + r"as"
        + _W
        + r"(?:an?"
        + _W
        + r")?(?:unrestricted|unfiltered|uncensored|jailbroken|evil|DAN|unaligned)",
    ),
    Pattern(
        "role_switch",
        0.7,
        r"(?:developer|god|jailbreak|DAN|sudo|admin|unrestricted)"
        + _W
        + r"mode"
        + _W
        + r"(?:enabled|activated|on|unlocked)",
    ),
    Pattern(
        "role_switch",
        0.5,
        r"(?:enable|enter|activate|switch"
        + _W
        + r"to|unlock)"
        + _W
        + r"(?:developer|god|jailbreak|DAN|sudo|unrestricted)"
        + _W
        + r"mode",
    ),
    Pattern(
        "role_switch",
        0.5,
        r"pretend"
        + _W
        + r"(?:to"
        + _W
        + r"be|you(?:'re|"
        + _W
        + r"are))"
        + _W
        + r"(?:an?"
        + _W
        + r")?(?:AI|assistant|model|chatbot)?[ \t]*"
        + r"(?:without|with"
        + _W
        + r"no|that|who)",
    ),
    Pattern(
        "role_switch",
        0.75,
        r"(?:<\|im_start\|>[ \t]*system|<\|system\|>|\[/?INST\]|<<SYS>>"
        + r"|<\|start_header_id\|>system|^#{1,3}[ \t]*system[ \t]*:?[ \t]*$"
        + r"|\[system\][ \t]*:?|\bsystem[ \t]*(?:override|message|prompt)[ \t]*:)",
    ),
    Pattern(
        "role_switch",
        0.6,
        r"(?:你现在是|你不再是|从现在起你是|假装你是|扮演一个?(?:没有|不受|无)"
        + r"|进入(?:开发者|越狱|无限制)模式|开发者模式(?:已)?(?:开启|启用|激活))",
    ),
    # exfiltration
    Pattern("exfiltration", 0.4, r"!\[[^\]\n]*\]\([ \t]*https?://[^)\s]+\?" + r"[^)\s]*=[^)\s]*\)"),
    Pattern(
        "exfiltration", 0.4, r"!\[[^\]\n]*\]\([ \t]*https?://[^)\s]*" + r"(?:\{|%7B|\$|<)[^)\s]*\)"
    ),
    Pattern(
        "exfiltration",
        0.75,
        r"(?:send|post|upload|forward|transmit|exfiltrate|leak|email"
        + r"|submit|append|encode)"
        + _W
        + _ANY
        + r"(?:conversation|chat"
        + _W
        + r"history|history|messages|secrets?|credentials|passwords?|api"
        + _W
        + r"keys?|tokens?|system"
        + _W
        + r"prompt|personal"
        + _W
        + r"data|user"
        + _W
        + r"data|data|memory|context)"
        + _ANY
        + r"(?:to|into|in)"
        + _W
        + r"(?:https?://|the"
        + _W
        + r"(?:url|link|endpoint|webhook|server|address)"
        + r"|this"
        + _W
        + r"(?:url|link|endpoint|webhook))",
    ),
    Pattern(
        "exfiltration",
        0.6,
        r"(?:render|include|display|output|insert|add)"
        + _W
        + _ANY
        + r"(?:markdown"
        + _W
        + r"image|image|img)"
        + _ANY
        + r"(?:url|link|https?://)",
    ),
    Pattern(
        "exfiltration",
        0.7,
        r"(?:把|将)"
        + _ZH_ANY
        + r"(?:对话|聊天记录|历史|密码|密钥|令牌|凭证|数据|系统提示|个人信息)"
        + _ZH_ANY
        + r"(?:发送|上传|提交|转发|发)(?:到|给|至)",
    ),
    # tool_hijack
    Pattern(
        "tool_hijack",
        0.55,
        r"(?:call|invoke|use|run|execute|trigger)"
        + _W
        + r"(?:the"
        + _W
        + r")?[A-Za-z_][A-Za-z0-9_.\-]+"
        + _W
        + r"(?:tool|function|plugin|action)"
        + _W
        + r"(?:with|to|using|now|immediately)",
    ),
    Pattern(
        "tool_hijack",
        0.45,
        r"(?:you"
        + _W
        + r"must|immediately|now)"
        + _W
        + r"(?:call|invoke"
        + r"|execute|run)"
        + _W
        + r"(?:the"
        + _W
        + r")?(?:(?:following|this|a|the)"
        + _W
        + r")?(?:tool|function|command|code|shell|script)",
    ),
    Pattern(
        "tool_hijack",
        0.8,
        r"(?:curl|wget)" + _W + r"[^\n|]*\|" + r"[ \t]*(?:sudo" + _W + r")?(?:ba|z)?sh",
    ),
    Pattern("tool_hijack", 0.7, r"rm" + _W + r"-(?:rf|fr|r[ \t]+-f)" + _W + r"(?:/|~|\*|\$HOME)"),
    Pattern(
        "tool_hijack",
        0.6,
        r"(?:<tool_call>|<function_call>|<\|tool_call\|>|\"tool_calls\"[ \t]*:"
        + r"|<invoke"
        + _W
        + r"name=)",
    ),
    Pattern(
        "tool_hijack",
        0.45,
        r"(?:note|message|instruction|attention|important)"
        + _OW
        + r":?"
        + _OW
        + r"(?:to|for)"
        + _W
        + r"(?:the"
        + _W
        + r")?(?:AI|assistant|LLM|agent|model|chatbot)",
    ),
    Pattern(
        "tool_hijack",
        0.4,
        r"(?:AI|assistant|LLM|agent|chatbot)"
        + _OW
        + r"[,:]"
        + _W
        + r"(?:you"
        + _W
        + r"(?:must|should|need"
        + _W
        + r"to)|please"
        + _W
        + r"(?:ignore|call|run|execute|send|delete))",
    ),
    Pattern(
        "override",
        0.6,
        r"(?:ignore|disregard)"
        + _W
        + r"(?:the|this|what"
        + _W
        + r"the)"
        + _W
        + r"user(?:'s|s')?"
        + _W
        + r"(?:request|question|instructions?|message|asked)",
    ),
    Pattern(
        "tool_hijack",
        0.35,
        r"(?:立即|马上|必须|请)?(?:调用|执行|运行)(?:以下|下面|这个|该)?"
        + _ZH_ANY
        + r"(?:工具|函数|命令|脚本|代码)",
    ),
)

# ``obfuscation`` has no pattern: the learned scorer reports it (zero-width characters, base64
# that decodes to instructions, homoglyphs, hidden HTML).
FAMILIES = (
    "override",
    "reveal_system_prompt",
    "role_switch",
    "exfiltration",
    "tool_hijack",
    "obfuscation",
)
