# ruff: noqa: E501  (labelled data: one text per line)
"""Builds the labelled redaction corpus (corpus.jsonl) deterministically.

Run ``python -m tests.redact.corpus.build_corpus`` to regenerate. A text is written with inline
labels ``«TYPE|value»``; the builder strips them and records exact spans into the plain text.
Values come from generators that produce *valid* instances (checksums computed), and hard
negatives come from generators of look-alikes (bad checksums, UUIDs, SHAs, timestamps,
versions, order numbers) plus hand-written texts.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from pathlib import Path

from tests.redact.corpus.hard_cases import (
    ALIASES,
    HAND_HARD,
    HARD_TEMPLATES,
    HOLDOUT_TEMPLATES,
    NEGATIVE_TEMPLATES,
    lookalikes,
)

HERE = Path(__file__).parent
MARK = re.compile(r"«([A-Z_0-9]+)\|(.*?)»", re.S)


def strip_labels(marked: str) -> tuple[str, list[dict[str, object]]]:
    """Plain text and spans from a marked text."""
    out, spans, pos = [], [], 0
    length = 0
    for match in MARK.finditer(marked):
        before = marked[pos : match.start()]
        out.append(before)
        length += len(before)
        value = match.group(2)
        spans.append({"type": match.group(1), "start": length, "end": length + len(value)})
        out.append(value)
        length += len(value)
        pos = match.end()
    out.append(marked[pos:])
    return "".join(out), spans


# ---------------------------------------------------------------- value generators
def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        candidate = body + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch)
            if i % 2 == 1:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        if total % 10 == 0:
            return candidate
    raise AssertionError


def card(rng: random.Random) -> str:
    prefix, length = rng.choice(
        [
            ("4", 16),
            ("4", 16),
            ("51", 16),
            ("55", 16),
            ("2221", 16),
            ("34", 15),
            ("37", 15),
            ("6011", 16),
            ("65", 16),
            ("3530", 16),
            ("62", 16),
            ("36", 14),
            ("4", 19),
        ]
    )
    number = luhn_complete(prefix, length, rng)
    style = rng.choice(["plain", "space", "dash"])
    if style == "plain":
        return number
    sep = " " if style == "space" else "-"
    if length == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    if length == 14:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, length, 4))


def bad_card(rng: random.Random) -> str:
    number = luhn_complete("4", 16, rng)
    wrong = str((int(number[-1]) + rng.randint(1, 9)) % 10)
    return number[:-1] + wrong


def ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    sep = rng.choice(["-", "-", " "])
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def phone(rng: random.Random) -> str:
    a, e, line = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    while a % 100 == 11:
        a += 1
    while e % 100 == 11:
        e += 1
    forms = [
        f"+1 ({a}) {e}-{line:04d}",
        f"+1-{a}-{e}-{line:04d}",
        f"+1 {a} {e} {line:04d}",
        f"({a}) {e}-{line:04d}",
        f"{a}-{e}-{line:04d}",
        f"{a}.{e}.{line:04d}",
        f"+1{a}{e}{line:04d}",
        f"+44 20 {rng.randint(7000, 8999)} {rng.randint(1000, 9999)}",
        f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
        f"+49 30 {rng.randint(1000000, 99999999)}",
        f"+49 151 {rng.randint(10000000, 99999999)}",
        f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        f"+81 3-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        f"+91 {rng.randint(70000, 99999)} {rng.randint(10000, 99999)}",
        f"+61 4{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
        f"+34 {rng.randint(600, 699)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
        f"+55 11 9{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        f"+442079{rng.randint(100000, 999999)}",
    ]
    return rng.choice(forms)


def cn_phone(rng: random.Random) -> str:
    number = "1" + rng.choice("3456789") + "".join(rng.choice(string.digits) for _ in range(9))
    form = rng.choice(["plain", "plain", "space", "dash", "+86", "+86 space", "86"])
    if form == "space":
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if form == "dash":
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if form == "+86":
        return "+86" + number
    if form == "+86 space":
        return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
    if form == "86":
        return "86-" + number
    return number


def ipv4(rng: random.Random) -> str:
    first = rng.choice([10, 172, 192, 8, 34, 52, 100, 203, 66])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    form = rng.choice(["full", "full", "compressed", "compressed", "loopback", "link", "mapped"])
    if form == "full":
        return ":".join(["2001", "db8", *groups[2:]])
    if form == "compressed":
        return f"2001:db8:{groups[2]}::{groups[3]}"
    if form == "loopback":
        return "::1"
    if form == "link":
        return f"fe80::{groups[4]}:{groups[5][:2]}ff:fe{groups[6][:2]}:{groups[7]}"
    return f"::ffff:192.0.2.{rng.randint(1, 254)}"


IBAN_COUNTRIES = {
    "DE": 22,
    "GB": 22,
    "FR": 27,
    "ES": 24,
    "IT": 27,
    "NL": 18,
    "BE": 16,
    "CH": 21,
    "AT": 20,
    "PL": 28,
    "SE": 24,
    "IE": 22,
}


def iban(rng: random.Random, valid: bool = True, spaced: bool | None = None) -> str:
    country = rng.choice(sorted(IBAN_COUNTRIES))
    length = IBAN_COUNTRIES[country]
    if country in ("GB", "NL", "IE"):
        bank = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
        bban = bank + "".join(rng.choice(string.digits) for _ in range(length - 8))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(length - 4))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randint(1, 50)) % 97 + 2
    compact = f"{country}{check:02d}{bban}"
    if spaced is None:
        spaced = rng.random() < 0.5
    if spaced:
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


def _rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def api_key(rng: random.Random) -> str:
    makers = [
        lambda: "sk-" + _rand(rng, 48),
        lambda: "sk-proj-" + _rand(rng, 64, string.ascii_letters + string.digits + "_-"),
        lambda: (
            "sk-ant-api03-" + _rand(rng, 93, string.ascii_letters + string.digits + "_-") + "AA"
        ),
        lambda: "AKIA" + _rand(rng, 16, string.ascii_uppercase + string.digits),
        lambda: "ghp_" + _rand(rng, 36),
        lambda: "github_pat_" + _rand(rng, 22) + "_" + _rand(rng, 59),
        lambda: "glpat-" + _rand(rng, 20),
        lambda: (
            "xoxb-" + "".join(rng.choice(string.digits) for _ in range(11)) + "-" + _rand(rng, 24)
        ),
        lambda: "AIza" + _rand(rng, 35, string.ascii_letters + string.digits + "_-"),
        lambda: "sk_live_" + _rand(rng, 24),
        lambda: "hf_" + _rand(rng, 34),
        lambda: "SG." + _rand(rng, 22) + "." + _rand(rng, 43),
        lambda: "npm_" + _rand(rng, 36),
        lambda: "gsk_" + _rand(rng, 52),
    ]
    return rng.choice(makers)()


def jwt(rng: random.Random) -> str:
    def b64(obj: dict[str, object]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"})
    payload = b64(
        {"sub": str(rng.randint(1, 10**9)), "iat": rng.randint(1_600_000_000, 1_800_000_000)}
    )
    return f"{header}.{payload}.{_rand(rng, 43, string.ascii_letters + string.digits + '_-')}"


def cn_id(rng: random.Random, valid: bool = True) -> str:
    region = rng.choice(["110105", "310115", "440305", "330106", "510107", "420102", "320102"])
    birth = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = region + birth + f"{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    if not valid:
        check = "10X98765432"[("10X98765432".index(check) + rng.randint(1, 10)) % 11]
    return body + check


def url_password(rng: random.Random) -> str:
    return _rand(rng, rng.randint(8, 16), string.ascii_letters + string.digits + "!$*-_")


def email(rng: random.Random) -> str:
    first = rng.choice(
        [
            "alice",
            "bob",
            "carol",
            "dave",
            "erin",
            "frank",
            "li.wei",
            "zhang.san",
            "j.smith",
            "m_rossi",
            "ops-team",
            "noreply",
            "kim+tag",
        ]
    )
    domain = rng.choice(
        [
            "example.com",
            "corp.example.org",
            "mail.co.uk",
            "gmail.com",
            "qq.com",
            "163.com",
            "company.io",
            "uni.edu",
            "startup.ai",
        ]
    )
    return f"{first}{rng.randint(1, 999) if rng.random() < 0.4 else ''}@{domain}"


GEN = {
    "EMAIL": email,
    "PHONE": phone,
    "CREDIT_CARD": card,
    "US_SSN": ssn,
    "IPV4": ipv4,
    "IPV6": ipv6,
    "IBAN": iban,
    "API_KEY": api_key,
    "JWT": jwt,
    "CN_PHONE": cn_phone,
    "CN_ID": cn_id,
    "PASSWORD_IN_URL": url_password,
}

# ---------------------------------------------------------------- templates
# {T} is replaced by a labelled value of type T; {uuid}, {sha}, {ts}, ... by unlabelled noise.
TEMPLATES = {
    "agent_log": [
        "2024-05-{d} {hms} INFO agent.step request_id={uuid} user={EMAIL} tokens=1532 latency_ms={ms}",
        "[{iso}] tool=crm.lookup status=ok caller_ip={IPV4} duration={ms}ms trace={sha}",
        "{iso} WARN retrying upstream {IPV6} attempt=2/5 backoff=1.5s build={version}",
        'step 3/12: model=gpt-4o-mini prompt_tokens=812 output="I have sent the invoice to {EMAIL} and texted {PHONE}."',
        "DEBUG http POST https://api.example.com/v1/charges card={CREDIT_CARD} amount=129.99 order=ORD-{order}",
        "user said: my social is {US_SSN}, please update my tax profile (session {uuid})",
        "assistant: Your refund goes to IBAN {IBAN}; reference {order}, ETA 3-5 business days.",
        "env dump: OPENAI_API_KEY={API_KEY} region=us-east-1 pid={pid} version={version}",
        "auth ok: Bearer {JWT} scope=read:orders exp={epoch}",
        "connecting to postgres://app_user:{PASSWORD_IN_URL}@db.internal:5432/orders (pool=10, commit {sha7})",
        "llm_call finished in {ms} ms; cost=$0.0042; the user asked to call back at {PHONE} after {hm}",
        'lead captured name="Dana" email={EMAIL} phone={PHONE} source=webform id={uuid}',
        "retry 1: GET http://{IPV4}:8080/health -> 503 after {ms}ms; next at {iso}",
        "fallback to key {API_KEY} because quota exceeded for project {order}",
    ],
    "json_tool": [
        '{{"tool": "send_email", "args": {{"to": "{EMAIL}", "cc": ["{EMAIL}"], "subject": "Invoice {order}"}}, "call_id": "{uuid}"}}',
        '{{"name": "create_payment", "arguments": {{"card_number": "{CREDIT_CARD}", "exp": "12/27", "amount_cents": {pid}}}}}',
        '{{"tool_call": "lookup_customer", "result": {{"phone": "{PHONE}", "ssn_last4": "{last4}", "created": "{iso}"}}}}',
        '{{"tool": "transfer", "args": {{"iban": "{IBAN}", "amount": 250.00, "currency": "EUR", "ref": "INV-{order}"}}}}',
        '{{"function": "fetch", "arguments": {{"url": "https://api.github.com/repos/x/y", "headers": {{"Authorization": "token {API_KEY}"}}}}}}',
        '{{"result": {{"ip": "{IPV4}", "ipv6": "{IPV6}", "checked_at": {epoch}, "asn": 13335}}}}',
        '{{"tool": "kyc_verify", "args": {{"id_number": "{CN_ID}", "mobile": "{CN_PHONE}", "name": "王小明"}}}}',
        '{{"session": "{uuid}", "jwt": "{JWT}", "expires_in": 3600}}',
        '{{"dsn": "mysql://root:{PASSWORD_IN_URL}@{IPV4}:3306/shop", "pool": 5}}',
        '{{"customer": {{"email": "{EMAIL}", "ssn": "{US_SSN}", "dob": "1985-04-12", "score": 712}}}}',
    ],
    "bash": [
        '$ curl -H "Authorization: Bearer {API_KEY}" https://api.openai.com/v1/models',
        "$ export DATABASE_URL=postgresql://svc:{PASSWORD_IN_URL}@pg.prod.internal/app && ./migrate --to {version}",
        '$ ssh deploy@{IPV4} -p 2222 "systemctl restart agent" # took {ms}ms',
        "$ ping6 -c 3 {IPV6}\nPING {IPV6} 56 data bytes",
        "$ git log -1 --format=%an <%ae>\nCI Bot <{EMAIL}>\ncommit {sha}",
        "$ aws configure set aws_access_key_id {API_KEY} && aws s3 ls s3://bucket-{order}",
        '$ python notify.py --to {PHONE} --msg "deploy {version} done at {hms}"',
    ],
    "sql": [
        "INSERT INTO customers (email, phone, ssn) VALUES ('{EMAIL}', '{PHONE}', '{US_SSN}');",
        "SELECT * FROM payments WHERE card_number = '{CREDIT_CARD}' AND created_at > '{iso}';",
        "UPDATE accounts SET iban = '{IBAN}' WHERE id = {pid};",
        "SELECT user_id, last_ip FROM sessions WHERE last_ip IN ('{IPV4}', '{IPV6}') LIMIT 50;",
        "INSERT INTO users_cn (id_card, mobile) VALUES ('{CN_ID}', '{CN_PHONE}'); -- batch {order}",
        "DELETE FROM api_tokens WHERE token = '{API_KEY}'; -- revoked {iso}",
    ],
    "stack_trace": [
        "Traceback (most recent call last):\n  File \"/app/agent/tools.py\", line 214, in send\n    smtp.sendmail(sender, \"{EMAIL}\", body)\nsmtplib.SMTPRecipientsRefused: {{'{EMAIL}': (550, b'5.1.1 user unknown')}}",
        'Traceback (most recent call last):\n  File "/srv/app/db.py", line 88, in connect\n    engine = create_engine("postgresql://admin:{PASSWORD_IN_URL}@{IPV4}:5432/prod")\nsqlalchemy.exc.OperationalError: connection refused',
        "java.lang.IllegalStateException: invalid card {CREDIT_CARD}\n\tat com.shop.Pay.charge(Pay.java:142)\n\tat com.shop.Api.handle(Api.java:57)",
        "Error: Request failed with status code 401\n    at settle (/app/node_modules/axios/lib/core/settle.js:19:12)\n    token: {JWT}",
        "panic: runtime error: dial tcp [{IPV6}]:443: i/o timeout\ngoroutine 17 [running]:\nmain.fetch(0xc000123456)",
        'ValueError: could not parse phone "{PHONE}" for user {uuid}\n  File "/app/normalize.py", line 31',
    ],
    "zh_chat": [
        "用户：你好，我的手机号是{CN_PHONE}，请帮我查一下订单{order}的物流。",
        "客服：收到，请提供身份证号码进行验证。\n用户：{CN_ID}",
        "用户：退款请打到这张卡{CREDIT_CARD}，邮箱{EMAIL}。",
        "助手：已为您预约，确认短信将发送至{CN_PHONE}，请于{hm}前到达。",
        "用户：我的邮箱是{EMAIL}，电话{PHONE}，请尽快联系我。",
        "用户：服务器{IPV4}连不上了，日志显示超时{ms}毫秒。",
        "用户：我的身份证{CN_ID}，手机{CN_PHONE}，帮我实名认证。",
        "系统：检测到异常登录，来源IP {IPV4}，时间{iso}。",
    ],
}

HARD_NEGATIVES_FIXED = [
    "Released version 1.2.3.4 of the SDK on 2024-06-01; see CHANGELOG for v2.10.0.1 notes.",
    "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904 (HEAD -> main) Merge PR #1234",
    "request_id=550e8400-e29b-41d4-a716-446655440000 trace=4bf92f3577b34da6a3ce929d0e0e4736",
    "order number 4111111111111112 shipped; tracking 1Z999AA10123456784",
    "timestamp 1700000000000 ms, epoch 1699999999, duration 12:30:45.123",
    "MAC 00:1A:2B:3C:4D:5E on eth0, std::vector<int> v; Foo::Bar::baz();",
    "image assets: logo@2x.png, icon@3x.webp, npm install @types/node@18.11.9",
    "git clone git@github.com:acme/agent-sidecar.git && cd agent-sidecar",
    "SSN format is XXX-XX-XXXX; invalid examples 000-12-3456, 666-12-3456, 900-12-3456",
    "IBAN DE00 3704 0044 0532 0130 00 has a bad check digit and must not match",
    "身份证号 110105194912310021 校验位错误，不应识别。",
    "pi is 3.14159265358979323846 and e is 2.71828182845904523536",
    "date range 2024-01-15 to 2024-12-31, invoice 2024-000123-77",
    "the API key sk-this-is-not-a-real-key-just-a-slug belongs to nobody",
    "version: 10.0.0.1-beta, build 2024.05.01.1234",
    "decorators: @app.route('/x'), @pytest.fixture, contact: support at example dot com",
    "latency p50=12.5ms p99=230ms, throughput 4,500 req/s at 32 connections",
    "http://localhost:8080/api/v1/items?page=2&limit=50#top",
    "redis://${REDIS_USER}:${REDIS_PASSWORD}@cache:6379/0",
    "The quick brown fox jumps over the lazy dog 1234567890 times.",
    "kubectl get pods -n prod | grep agent-7f9c6d5b8-x2k4q",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "phone extension ext. 4821, room 12-345, zip 94107-1234",
    "用户：我想订一张明天下午3点的机票，预算2000元左右。",
    "助手：好的，订单号20240601123456已生成，请在30分钟内支付。",
    "ISBN 978-3-16-148410-0, DOI 10.1000/182, ORCID 0000-0002-1825-0097",
    "coordinates 37.7749,-122.4194 altitude 15.2m",
    "numpy==1.26.4 pandas==2.2.2 torch==2.3.0+cu121",
    "Process exited with code 137 after 3600.5s (OOMKilled)",
    "AWS example key id AKIA-REDACTED and arn:aws:iam::123456789012:role/agent",
]


# Hand-written texts, labelled inline (written before the recognisers were tuned on them).
HAND_LABELLED = [
    "Hi team, please loop in «EMAIL|Jane.Doe@Example.COM» and call her on «PHONE|+1 (646) 555-0142» before Friday.",
    "Customer: my card is «CREDIT_CARD|5555 5555 5555 4444» exp 09/26 cvv 123, billing zip 10001.",
    'tool_result: {"ip_address": "«IPV4|203.0.113.45»", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0.6367.91"}',
    "2024-06-02T08:15:02.113Z ERROR payments: card «CREDIT_CARD|378282246310005» declined (code 05)",
    "Please wire to «IBAN|GB29 NWBK 6016 1331 9268 19» (NatWest), amount £1,250.00, ref INV-2024-0042.",
    "export ANTHROPIC_API_KEY=«API_KEY|sk-ant-api03-Xk29fLq0PzR7vB1nC5mT8yW3eH6jD4sG2aK9uQ0iO7lZ1xN5cV8bM3rE6tY4wU2pA1sD9fG7hJ0kL_QwErTyUiOpAsDfGhJkLzXcVbNmQAA»",
    "Authorization header was «JWT|eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c»",
    "mongodb+srv://analytics:«PASSWORD_IN_URL|Qm9vdHN0cmFw2024»@cluster0.ab1cd.mongodb.net/prod?retryWrites=true",
    "用户：您好，我叫李雷，电话«CN_PHONE|186 1234 5678»，身份证«CN_ID|44030519900101123X»，想办理信用卡。",
    "客服：已收到，您的预留手机«CN_PHONE|+8613912345678»将收到验证码，有效期5分钟。",
    "SSN on file: «US_SSN|219-09-9999». DOB 1971-03-14. Account opened 2019-11-02.",
    "peer «IPV6|2001:0db8:85a3:0000:0000:8a2e:0370:7334» closed connection after 30s; fallback to «IPV4|198.51.100.7»",
    "Call me at «PHONE|(212) 555-0198» or email «EMAIL|m.garcia+orders@shop.example.net» — thanks!",
    "AWS creds leaked in log: «API_KEY|AKIAJ3VXQ7PLM2NB4KZT» / region eu-west-1 / account 123456789012",
    "slack token «API_KEY|xoxb-2048673920-4096718235-Hq7vTz2PcK9mRf1LwX8sYb3N» rotated at 2024-05-30 10:00 UTC",
    "Kontakt: «EMAIL|k.schmidt@firma.de», Tel. «PHONE|+49 89 12345678», IBAN «IBAN|DE89370400440532013000»",
    "traceroute: 1 «IPV4|192.168.0.1» 0.512 ms 2 «IPV4|10.20.0.1» 3.114 ms 3 * * *",
    "python -c 'import openai; openai.api_key=\"«API_KEY|sk-proj-4fT9kLmN2pQrS7uVwX0yZ1aB3cD5eF6gH8iJ0kL2mN4oP6qR»\"'",
    "下单成功！订单号：202406011830452231，收货人手机：«CN_PHONE|13700001111»，预计明天送达。",
    "The assistant replied: I can't share «EMAIL|ceo@acme-corp.com»'s number, but the front desk is «PHONE|+1 415-555-0123».",
]


def noise(rng: random.Random) -> dict[str, str]:
    return {
        "uuid": "-".join(f"{rng.getrandbits(4 * n):0{n}x}" for n in (8, 4, 4, 4, 12)),
        "sha": f"{rng.getrandbits(160):040x}",
        "sha7": f"{rng.getrandbits(28):07x}",
        "ts": str(rng.randint(1_600_000_000_000, 1_800_000_000_000)),
        "epoch": str(rng.randint(1_600_000_000, 1_800_000_000)),
        "iso": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
        "hms": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        "hm": f"{rng.randint(8, 20)}:{rng.choice(['00', '15', '30', '45'])}",
        "d": f"{rng.randint(1, 28):02d}",
        "ms": f"{rng.randint(1, 9000)}.{rng.randint(0, 9)}",
        "order": str(rng.randint(10**7, 10**12)),
        "pid": str(rng.randint(100, 99999)),
        "version": f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        "last4": f"{rng.randint(0, 9999):04d}",
    }


def fill(template: str, rng: random.Random) -> str:
    values = noise(rng) | lookalikes(rng)
    # the same labelled type may appear twice in a template (ipv6 ping): reuse per template
    cache: dict[str, str] = {}

    def slot(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in GEN:
            if name not in cache or name != "IPV6":
                cache[name] = GEN[name](rng)
            return f"«{name}|{cache[name]}»"
        if name in ALIASES:
            type_, generate = ALIASES[name]
            return f"«{type_}|{generate(rng)}»"
        return values[name]

    template = template.replace("{{", "\x00").replace("}}", "\x01")
    text = re.sub(r"\{([A-Za-z_0-9]+)\}", slot, template)
    return text.replace("\x00", "{").replace("\x01", "}")


def generated_negatives(rng: random.Random) -> list[str]:
    out = []
    for _ in range(40):
        kind = rng.randrange(8)
        n = noise(rng)
        if kind == 0:
            out.append(
                f"payment declined for card {bad_card(rng)} (luhn check failed) at {n['iso']}"
            )
        elif kind == 1:
            out.append(f"IBAN {iban(rng, valid=False)} rejected by the bank, ref {n['order']}")
        elif kind == 2:
            out.append(f"校验失败：证件号{cn_id(rng, valid=False)}不合法，请重新输入。")
        elif kind == 3:
            out.append(f"build {n['version']} sha {n['sha']} uuid {n['uuid']} at {n['ts']}")
        elif kind == 4:
            out.append(
                f"order #{n['order']} total 1{n['pid']}.00 USD, {n['hms']} elapsed {n['ms']}ms"
            )
        elif kind == 5:
            out.append(
                f"SSN-like but invalid: {rng.choice(['000', '666', '912'])}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
            )
        elif kind == 6:
            out.append(f"span {n['sha'][:16]} parent {n['sha'][16:32]} ts={n['epoch']}.{n['pid']}")
        else:
            out.append(f"at {n['iso']} tokens in=1{n['pid']} out={n['pid']} ratio=0.{n['pid']}")
    return out


def build(seed: int = 20240601) -> list[dict[str, object]]:
    rng = random.Random(seed)
    records: list[dict[str, object]] = []
    for kind, templates in TEMPLATES.items():
        repeats = 5 if kind in ("agent_log", "json_tool") else 6
        for template in templates:
            for _ in range(repeats):
                text, spans = strip_labels(fill(template, rng))
                records.append({"kind": kind, "text": text, "spans": spans})
    for marked in HAND_LABELLED:
        text, spans = strip_labels(marked)
        records.append({"kind": "hand", "text": text, "spans": spans})
    for text in HARD_NEGATIVES_FIXED + generated_negatives(rng):
        records.append({"kind": "hard_negative", "text": text, "spans": []})
    for kind, templates in HARD_TEMPLATES.items():
        for template in templates:
            for _ in range(4):
                text, spans = strip_labels(fill(template, rng))
                records.append({"kind": kind, "text": text, "spans": spans})
    for marked in HAND_HARD:
        text, spans = strip_labels(marked)
        records.append({"kind": "hand" if spans else "hard_negative", "text": text, "spans": spans})
    for template in NEGATIVE_TEMPLATES:
        for _ in range(3):
            text, spans = strip_labels(fill(template, rng))
            assert not spans, template
            records.append({"kind": "hard_negative", "text": text, "spans": []})
    return records


def build_holdout(seed: int = 20261201) -> list[dict[str, object]]:
    """The held-out set: other phrasings, scored but never used to tune the recognisers."""
    rng = random.Random(seed)
    records: list[dict[str, object]] = []
    for template in HOLDOUT_TEMPLATES:
        for _ in range(4):
            text, spans = strip_labels(fill(template, rng))
            records.append({"kind": "holdout", "text": text, "spans": spans})
    return records


def write(name: str, records: list[dict[str, object]]) -> None:
    with (HERE / name).open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} records to {name}")


def main() -> None:
    write("corpus.jsonl", build())
    write("holdout.jsonl", build_holdout())


if __name__ == "__main__":
    main()
