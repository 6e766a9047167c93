# ruff: noqa: E501  (labelled data: one text per line)
"""Hard cases for the corpus: context-dependent values and their look-alikes.

Values that are PII only by context (nine bare digits after ``ssn``, a national phone number
without ``+``, a card in a CSV row of other long numbers) and near-misses of every type (the
same digits after another label, a keyword too far away, dates, versions, ISBNs, amounts,
zero-padded IPs, Luhn-valid order numbers and IMEIs, base64 JSON cursors in token fields).

Slots: ``{TYPE}`` (see build_corpus.GEN) and the aliases below put a labelled value; lower-case
slots put unlabelled look-alikes. ``HOLDOUT_TEMPLATES`` are written in other phrasings and
layouts and only scored, never used to tune the recognisers (docs/redaction.md).
"""

from __future__ import annotations

import base64
import json
import random
import string

import phonenumbers

GB_EXAMPLE_PREFIXES = ("7700900", "1632960", "1154960")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _pairs(rng: random.Random, head: str, sep: str) -> str:
    return sep.join([head] + [_digits(rng, 2) for _ in range(4)])


def _valid(number: str, region: str) -> bool:
    digits = "".join(ch for ch in number if ch.isdigit())
    if region == "GB" and digits[1:8] in GB_EXAMPLE_PREFIXES:
        return True
    parsed = phonenumbers.parse(number, region)
    return phonenumbers.is_valid_number(parsed)


def national_phone(rng: random.Random, country: str | None = None) -> str:
    """A valid national-format number of GB, DE, FR, CN or US (checked with phonenumbers)."""
    country = country or rng.choice(["GB", "GB", "DE", "DE", "FR", "FR", "CN", "US"])
    makers = {
        "GB": [
            lambda: f"020 7946 0{_digits(rng, 3)}",
            lambda: f"07700 900{_digits(rng, 3)}",
            lambda: f"07700 900 {_digits(rng, 3)}",
            lambda: f"0161 496 0{_digits(rng, 3)}",
            lambda: f"0113 496 0{_digits(rng, 3)}",
            lambda: f"(020) 7946 0{_digits(rng, 3)}",
            lambda: f"01632 960{_digits(rng, 3)}",
            lambda: f"020 {rng.choice('378')}{_digits(rng, 3)} {_digits(rng, 4)}",
            lambda: f"07{rng.choice('4589')}{_digits(rng, 2)} {_digits(rng, 6)}",
            lambda: f"0131 {rng.randint(200, 999)} {_digits(rng, 4)}",
        ],
        "DE": [
            lambda: f"030 {rng.randint(2, 9)}{_digits(rng, 7)}",
            lambda: f"089 {rng.randint(2, 9)}{_digits(rng, 6)}",
            lambda: f"040 {rng.randint(2, 9)}{_digits(rng, 7)}",
            lambda: f"0151 {_digits(rng, 8)}",
            lambda: f"0171 {_digits(rng, 7)}",
            lambda: f"0176-{_digits(rng, 8)}",
            lambda: f"030/{rng.randint(2, 9)}{_digits(rng, 7)}",
            lambda: f"(030) {rng.randint(2, 9)}{_digits(rng, 3)} {_digits(rng, 4)}",
            lambda: f"0221 {rng.randint(2, 9)}{_digits(rng, 6)}",
        ],
        "FR": [
            lambda: _pairs(rng, f"0{rng.choice('12345679')}", " "),
            lambda: _pairs(rng, f"0{rng.choice('67')}", " "),
            lambda: _pairs(rng, f"0{rng.choice('1234567')}", "."),
            lambda: _pairs(rng, f"0{rng.choice('1234567')}", "-"),
        ],
        "CN": [
            lambda: f"010-{rng.randint(2, 8)}{_digits(rng, 7)}",
            lambda: f"021-{rng.randint(2, 8)}{_digits(rng, 7)}",
            lambda: f"0755-{rng.randint(2, 8)}{_digits(rng, 7)}",
            lambda: f"0571-{rng.randint(2, 8)}{_digits(rng, 7)}",
            lambda: f"(010) {rng.randint(5, 8)}{_digits(rng, 3)} {_digits(rng, 4)}",
            lambda: f"0755-{rng.randint(2, 8)}{_digits(rng, 3)} {_digits(rng, 4)}",
        ],
        "US": [
            lambda: f"({rng.randint(201, 989)}) 555-0{_digits(rng, 3)}",
            lambda: f"{rng.randint(201, 989)}-555-0{_digits(rng, 3)}",
            lambda: f"1-800-{rng.randint(200, 999)}-{_digits(rng, 4)}",
            lambda: f"1 ({rng.randint(201, 989)}) {rng.randint(200, 999)}-{_digits(rng, 4)}",
            lambda: f"{rng.randint(201, 989)}.{rng.randint(200, 999)}.{_digits(rng, 4)}",
        ],
    }
    for _ in range(1000):
        number = rng.choice(makers[country])()
        if _valid(number, country):
            return number
    raise AssertionError(country)


def unformatted_phone(rng: random.Random) -> str:
    """A national number written as bare digits (only a label makes it a phone number)."""
    while True:
        number = "".join(ch for ch in national_phone(rng) if ch.isdigit())
        if number[0] == "1" and len(number) == 11:
            continue  # 1-800 numbers bare are written +1...
        return number


def ssn_bare(rng: random.Random) -> str:
    """Nine digits that follow the SSA rules."""
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def invalid_ssn_bare(rng: random.Random) -> str:
    """Nine digits an SSA rule forbids: area 000, 666 or 9xx, group 00 or serial 0000."""
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.choice(['000', '666', str(rng.randint(900, 999))])}{_digits(rng, 6)}"
    if kind == 1:
        return f"{rng.randint(1, 665):03d}00{rng.randint(1, 9999):04d}"
    return f"{rng.randint(1, 665):03d}{rng.randint(1, 99):02d}0000"


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + _digits(rng, length - len(prefix) - 1)
    for check in string.digits:
        candidate = body + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch)
            if i % 2 == 1:
                d = d * 2 - 9 if d * 2 > 9 else d * 2
            total += d
        if total % 10 == 0:
            return candidate
    raise AssertionError


def card_plain(rng: random.Random) -> str:
    prefix, length = rng.choice(
        [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("37", 15), ("6011", 16), ("35", 16)]
    )
    if prefix == "35":
        prefix = str(rng.randint(3528, 3589))
    return luhn_complete(prefix, length, rng)


def card_grouped(rng: random.Random) -> str:
    number = luhn_complete(rng.choice(["4", "51", "55", "6011"]), 16, rng)
    sep = rng.choice([" ", "-"])
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def b64(obj: object) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def cursor(rng: random.Random) -> str:
    """A pagination cursor: base64 of plain JSON (no JWT header, no secret field)."""
    return b64(
        rng.choice(
            [
                {"offset": rng.randint(10, 5000)},
                {"offset": rng.randint(10, 5000), "limit": rng.choice([25, 50, 100])},
                {"page": rng.randint(2, 99), "sort": "created_at"},
                {"last_id": rng.randint(10**6, 10**9), "dir": "asc"},
                [rng.randint(1, 10**6), "2024-05-01T00:00:00Z"],
                {"ts": rng.randint(1_600_000_000, 1_800_000_000), "id": str(rng.randint(1, 10**8))},
            ]
        )
    )


def opaque_token(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(32, 48)))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def lookalikes(rng: random.Random) -> dict[str, str]:
    """Unlabelled look-alike values for the hard templates."""
    d, m = rng.randint(1, 28), rng.randint(1, 12)
    return {
        "nine": f"{rng.randint(100_000_000, 999_999_999)}",
        "badssn": invalid_ssn_bare(rng),
        "luhn16": luhn_complete("4", 16, rng),
        "luhn16b": luhn_complete(rng.choice(["51", "4", "6011"]), 16, rng),
        "nocard16": luhn_complete(rng.choice(["7", "8", "9", "1"]), 16, rng),
        "imei": luhn_complete(f"35{rng.randint(1000, 9999)}", 15, rng),
        "snowflake": str(rng.randint(10**17, 2 * 10**18)),
        "long12": _digits(rng, 12),
        "ymd": f"2024{m:02d}{d:02d}",
        "date_eu": f"{d:02d}.{m:02d}.2024",
        "date_slash": f"{d:02d}/{m:02d}/2024",
        "date_dash": f"{m:02d}-{d:02d}-2024",
        "float16": f"0.{rng.randint(10**15, 10**16 - 1)}",
        "version0": f"0.{rng.randint(1, 30)}.{rng.randint(0, 999)}",
        "isbn10": rng.choice(["0-306-40615-2", "0-19-852663-6", "0-7167-0344-0", "0-262-03384-4"]),
        "isbn13": rng.choice(["978-0-306-40615-7", "978-3-16-148410-0", "978-0-262-03384-8"]),
        "amount_eu": f"{rng.randint(1, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)},{rng.randint(10, 99)}",
        "amount": f"{rng.randint(1, 99)},{rng.randint(100, 999)}.{rng.randint(10, 99)}",
        "ip_padded": f"{rng.randint(10, 99):03d}.{rng.randint(0, 255):03d}.{rng.randint(0, 255):03d}.{rng.randint(1, 254):03d}",
        "oid": f"1.3.6.1.4.1.{rng.randint(1000, 60000)}.{rng.randint(1, 9)}",
        "zeroid": f"0{rng.randint(1, 9)}{_digits(rng, 2)} {_digits(rng, 4)} {_digits(rng, 4)} {_digits(rng, 4)}",
        "invoice0": f"0{rng.randint(1, 9)}{_digits(rng, 2)} {_digits(rng, 3)} {_digits(rng, 3)}",
        "ms": str(rng.randint(1_600_000_000_000, 1_800_000_000_000)),
        "epoch": str(rng.randint(1_600_000_000, 1_800_000_000)),
        "hms": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        "cursor": cursor(rng),
        "cursor2": cursor(rng),
        "n": str(rng.randint(2, 500)),
        "pid": str(rng.randint(100, 99999)),
        "zip4": f"{rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}",
        "mac": ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6)),
        "sha": f"{rng.getrandbits(160):040x}",
    }


# Labelled slots beyond build_corpus.GEN: slot -> (type, generator).
ALIASES = {
    "SSN9": ("US_SSN", ssn_bare),
    "NPHONE": ("PHONE", national_phone),
    "GB_PHONE": ("PHONE", lambda rng: national_phone(rng, "GB")),
    "DE_PHONE": ("PHONE", lambda rng: national_phone(rng, "DE")),
    "FR_PHONE": ("PHONE", lambda rng: national_phone(rng, "FR")),
    "CNL_PHONE": ("PHONE", lambda rng: national_phone(rng, "CN")),
    "US_PHONE": ("PHONE", lambda rng: national_phone(rng, "US")),
    "RAW_PHONE": ("PHONE", unformatted_phone),
    "CARD16": ("CREDIT_CARD", card_plain),
    "CARDG": ("CREDIT_CARD", card_grouped),
    "TOKEN": ("API_KEY", opaque_token),
}

HARD_TEMPLATES = {
    "csv": [
        "card_number,txn_date,merchant_ref\n{CARD16},{ymd},{long12}\n{CARD16},{ymd},{long12}",
        "{CARD16},{ymd},{long12}",
        "{ymd},{CARDG},{long12},{n}",
        "id,name,ssn,dob\n{n},Dana Smith,{SSN9},1985-04-12\n{pid},Lee Chen,{SSN9},1990-11-02",
        "name;phone;city\nMüller;{DE_PHONE};Berlin\nDupont;{FR_PHONE};Paris\nSmith;{GB_PHONE};London",
        'order_id,tracking,amount\n{luhn16},{long12},"{amount}"\n{luhn16b},{snowflake},"{amount}"',
        "customer,mobile,signup\nAnn,{RAW_PHONE},{ymd}\nBo,{RAW_PHONE},{ymd}",
        "ts\tuser\tcard\n{ms}\t{EMAIL}\t{CARD16}",
        "| name | phone | ssn |\n|---|---|---|\n| Ann | {US_PHONE} | {SSN9} |\n| Bo | {GB_PHONE} | {SSN9} |",
        "imei,iccid,activated\n{imei},89{long12}1234567,{ymd}",
        "row,pan,exp,cvv\n{n},{CARD16},12/27,123\n{pid},{CARDG},01/28,456",
        "event_id,ts,ip\n{snowflake},{ms},{IPV4}\n{snowflake},{ms},{IPV4}",
    ],
    "email": [
        "Best regards,\nJames Holden\nTel: {GB_PHONE} | Mob: {GB_PHONE}\n{EMAIL}",
        "Mit freundlichen Grüßen\nAnna Schmidt\nTelefon: {DE_PHONE}\nE-Mail: {EMAIL}",
        "Cordialement,\nMarie Dubois\nTél : {FR_PHONE}\nPortable : {FR_PHONE}",
        "此致\n王伟\n电话：{CNL_PHONE}\n手机：{CN_PHONE}\n邮箱：{EMAIL}",
        "Hi, please call me back on {NPHONE} after 3pm. Invoice {invoice0} is attached.",
        "From: {EMAIL}\nSubject: Re: order {luhn16}\n\nYour SSN {SSN9} does not match our records. Call {US_PHONE}.",
        "Sent from my iPhone\n\nOn {date_eu}, at {hms}, {EMAIL} wrote:\n> my number is {NPHONE}",
    ],
    "chat": [
        "user: my ssn is {SSN9} and my phone is {RAW_PHONE}",
        "user: you can reach me at {NPHONE}, or on my office line {NPHONE}",
        "assistant: I updated the record; SSN {SSN9} is now linked to {EMAIL}.",
        "user: social security number {SSN9}, dob {date_slash}",
        "user: the card is {CARDG} and the order number is {luhn16}",
        "user: ring me on {GB_PHONE} - I'm free after {hms}",
    ],
    "shell": [
        "$ ./enroll --name 'Dana' --ssn {SSN9} --phone {RAW_PHONE}",
        "$ curl -s 'https://api.example.com/v2/items?page_token={cursor}&limit=50' -H 'Authorization: Bearer {TOKEN}'",
        "$ psql -c \"UPDATE users SET ssn='{SSN9}' WHERE id={pid}\"",
        "$ python charge.py --card {CARD16} --amount 12.50 --order {luhn16}",
        "$ sms send --to {RAW_PHONE} --text 'build {version0} ok'",
    ],
    "json_tool": [
        '{{"results": [{{"id": {pid}}}], "next_page_token": "{cursor}", "prev_page_token": "{cursor2}"}}',
        '{{"customer": {{"ssn": "{SSN9}", "phone": "{RAW_PHONE}", "order_id": "{luhn16}"}}}}',
        '{{"contact": {{"mobile": "{NPHONE}", "fax": "{NPHONE}"}}, "updated": "{date_eu}"}}',
        '{{"cursor": "{cursor}", "session_token": "{TOKEN}", "items": {n}}}',
        '{{"pan": "{CARD16}", "imei": "{imei}", "snowflake": "{snowflake}"}}',
        '{{"auth": {{"access_token": "{JWT}", "refresh_token": "{TOKEN}"}}, "continuation_token": "{cursor}"}}',
    ],
    "log": [
        "{ms} INFO payment ok pan={CARD16} order={luhn16} amount={amount}",
        "{ms} WARN kyc mismatch ssn={SSN9} ref={nine} attempt={n}",
        "{ms} DEBUG sms.send to={NPHONE} template=otp id={snowflake}",
        "{ms} INFO call forwarded from {US_PHONE} to {NPHONE} duration={n}s",
        "2024-05-06 {hms} ERROR lookup failed for tel {RAW_PHONE}: not found (cursor {cursor})",
    ],
}

# Look-alikes only: nothing in them is PII.
NEGATIVE_TEMPLATES = [
    "order {luhn16} shipped on {date_eu}; tracking {long12}",
    "order_id={luhn16} txn={luhn16b} imei={imei}",
    "invoice {invoice0} due {date_slash}, amount {amount_eu} EUR",
    "ISBN {isbn10} (paperback), ISBN-13 {isbn13}",
    "released {date_eu} {hms}, build {version0}, commit {sha}",
    "score={float16} loss={float16} step={n}",
    "peer {ip_padded} oid {oid} mac {mac}",
    "request {zeroid} took {n} ms",
    "user id {nine} logged in at {hms}",
    "SSN verification failed for order {nine}",
    "ssn: {badssn}",
    "classname {nine} grassnut {nine}",
    "ssn_last4: {n} ({date_dash})",
    "the SSN field is optional. Ticket {nine} closed.",
    "phone verified: yes, attempts {n}, account {nine}",
    "call_id={nine} tool=search tokens={n}",
    '{{"next_page_token": "{cursor}", "page_size": 50}}',
    "cursor={cursor}&limit=25",
    '{{"pagination": {{"next": "{cursor}", "prev": "{cursor2}"}}}}',
    "id,amount,ts\n{snowflake},{amount},{ms}\n{snowflake},{amount},{ms}",
    "tracking,weight\n{luhn16},{n}kg\n{luhn16b},{n}kg",
    "card {nocard16} rejected: unknown issuer",
    "zip {zip4}, suite {n}",
    "ts={ms} epoch={epoch} seq={long12}",
    "{ymd} {ymd} {long12} {ms}",
    "Balance: {amount_eu} €; ref {invoice0}",
    "imei {imei} iccid 89{long12}1234567",
    "v{version0} of the SDK, see {isbn13}",
    "Telemetry batch {nine} sent, hotel {nine}",
]

# Scored only, never used to tune (other phrasings, layouts and mixes of the same types).
HOLDOUT_TEMPLATES = [
    "Please update my file — SSN: {SSN9}. You can text me at {NPHONE}.",
    "Kontakt: Frau Weber, {DE_PHONE} (Büro), {DE_PHONE} (mobil)",
    "Pour toute question : {FR_PHONE} ou {EMAIL}",
    "Office: {GB_PHONE}\nMobile: {GB_PHONE}\nFax: {GB_PHONE}",
    "北京办公室电话 {CNL_PHONE}，上海 {CNL_PHONE}",
    "applicant_ssn,applicant_phone\n{SSN9},{RAW_PHONE}\n{SSN9},{RAW_PHONE}",
    "{ymd};{CARD16};{long12};{amount}\n{ymd};{CARD16};{long12};{amount}",
    "txn {long12} card {CARDG} ts {ms}",
    "GET /v1/orders?cursor={cursor}&page_token={cursor2} 200 {n}ms",
    '{{"billing": {{"card": "{CARD16}", "postcode": "SW1A 1AA"}}, "order": "{luhn16}"}}',
    "kyc: ssn={SSN9} ok; ref={nine}; dob={date_eu}",
    "caller {US_PHONE} left a voicemail at {hms}; callback {NPHONE}",
    "$ grep -r '{nine}' logs/ # order id, not an ssn",
    "Ticket {invoice0}: customer says her social security number {SSN9} was rejected.",
    "payment_ref,card_last4\n{luhn16},{n}\n{luhn16b},{n}",
    "SSN on file ends in {n}; full number withheld. Ref {nine}.",
    "Package {isbn13} arrived {date_slash}; tracking {long12}",
    "token: {TOKEN}\nnext: {cursor}",
]

# Hand-written, labelled inline, written before checking what the recognisers make of them.
HAND_HARD = [
    "Call «PHONE|+44 (0)20 7946 0958» or «PHONE|+1.415.555.0132»; fax «PHONE|+49-30-12345678».",
    "dial «PHONE|0044 20 7946 0958» from Germany, «PHONE|001-415-555-0132» from France",
    '<a href="tel:«PHONE|+14155550132»">call us</a> or mailto:«EMAIL|help@shop.example»',
    "UK: «PHONE|020-7946-0958», mobile «PHONE|07700-900-123», Paris «PHONE|+33 (0)1 23 45 67 89»",
    "phone=«PHONE|4155550132»&email=«EMAIL|ann.lee@example.org»&zip=94107",
    "Reach the desk at «PHONE|415 555 0132» ext. 12",
    "S.S.N. «US_SSN|123-45-6789»; SSN#: «US_SSN|234567891»; Social Security No. «US_SSN|345678912»",
    "ssn=«US_SSN|123 45 6789» dob=1980-02-29",
    "cc=«CREDIT_CARD|4111111111111111»&exp=1227&cvv=123",
    "Amex «CREDIT_CARD|3782 822463 10005» and MC «CREDIT_CARD|5555-5555-5555-4444»",
    "card;exp;name\n«CREDIT_CARD|4012888888881881»;11/26;J SMITH\n«CREDIT_CARD|5105105105105100»;02/27;A LI",
    "X-Forwarded-For: «IPV4|203.0.113.9», «IPV4|198.51.100.23»\nHost: [«IPV6|2001:db8::1»]:443",
    "route add «IPV4|10.8.0.0»/24 via «IPV4|10.8.0.1»; ping «IPV6|fe80::1%eth0»",
    "Set-Cookie: session=«JWT|eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOjQyLCJleHAiOjE3MTcwMDAwMDB9.c2lnbmF0dXJlLXZhbHVlLWhlcmU»; Path=/; HttpOnly",
    "GET /callback?token=«JWT|eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJhYmMiLCJhdWQiOiJ4In0.bm90LWEtcmVhbC1zaWduYXR1cmUtYnV0LWxvbmc» 302",
    "redis://:«PASSWORD_IN_URL|Sup3rS3cret»@cache.internal:6379/0 and amqp://guest:«PASSWORD_IN_URL|guest»@localhost:5672//",
    "用户：我的身份证是«CN_ID|11010519491231002x»，手机«CN_PHONE|+86 138 1234 5678»。",
    "联系人：张三，手机：«CN_PHONE|138-1234-5678»，座机：«PHONE|010-62345678»",
    "export GITHUB_TOKEN=«API_KEY|ghp_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3s1»",
    "AWS_SECRET_ACCESS_KEY=«API_KEY|wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY»",
    "Your verification code was sent to «PHONE|(646) 555-0199». Not you? Email «EMAIL|security@bank.example.com».",
    '{"employees": [{"name": "Ann", "ssn": "«US_SSN|456789123»"}, {"name": "Bo", "ssn": "«US_SSN|567-89-1234»"}]}',
    "Telefon: «PHONE|+49 (0)89 1234567» · Fax: «PHONE|089 7654321»",
    "Order #123-45-6789 was refunded; RMA 987-65-4321.",
    "Error 0x80070005 at 2024-06-01 12:30:45.123456, retry 3/5",
    "Total $1,234,567.89 for 1,250 seats; room 1203, building 4",
    "coordinates 51.5074, -0.1278; elevation 35 m; build 2024.06.01.1234",
    "Upgrade from 1.2.3-beta.4 to 10.2.0.1? See section 4.2.1.3.",
    "tokens_in=1234567890 tokens_out=2345678901 cost_usd=0.00234",
    "Invoice INV-0201-2345-678, PO 0172 334 455, GTIN 04012345678901",
    "SKU 0151-1234-5678 restocked; ticket #0207 946 0958",
    "pagination: next=eyJvZmZzZXQiOjIwLCJsaW1pdCI6MjB9 prev=eyJvZmZzZXQiOjB9",
    '{"nextPageToken": "eyJwYWdlIjozLCJzaXplIjo1MH0", "kind": "list"}',
    "x-amz-continuation-token: eyJtYXJrZXIiOiJmaWxlXzAwMTIzLmNzdiJ9",
    "IMEI 356938035643809, serial 4012888888881881",
    "IPv6 look-alikes: 12:30:45, de:ad:be:ef:00:01, std::vector<int>, tokio::sync::mpsc",
    "Email-like but not: user@localhost, logo@2x.png, @mention, name [at] example [dot] com",
    "seq 0207946095 offset 0161496000 (zero-padded counters)",
    "amount_eur=0123456789 account=07700900123 acct_no: 0612345678",
]
