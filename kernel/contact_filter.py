"""Off-platform contact detection: the parts of a message that would take the conversation or its payment
elsewhere (an email address, a phone number, a messaging-app handle, a link to a contact or payment page, a
payment-off-platform phrase), with the common obfuscations ("john at gmail dot com", spaced or spelled digits).

Why patterns over a model: they run in well under a millisecond on the send path, are explainable to staff
("flagged: phone"), and their spans can be masked in place. What they leave alone on purpose: prices, dates,
versions, quantities and order numbers (digits with a currency, a unit, or a reference word before them),
links to work tools (any host that is not a contact, social or payment page), and a payment provider named as
a feature of the product being built ("integrate the PayPal checkout"); a provider is flagged when it is the
way to pay ("pay me via PayPal", "my Venmo").
"""

import re
from dataclasses import dataclass
from enum import StrEnum


class ContactKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    HANDLE = "handle"
    LINK = "link"
    PAYMENT = "payment"


@dataclass(frozen=True)
class ContactMatch:
    kind: ContactKind
    start: int
    end: int


_FLAGS = re.IGNORECASE | re.UNICODE

# "@", "(at)", "[at]", " at " and "dot" the same way: the obfuscations people use to slip past a plain regex.
# In the languages the marketplace's users write most: "arroba", "punto", "point", "punkt".
_AT = r"(?:\s*@\s*|\s*[\(\[\{<]\s*(?:at|ät|arroba)\s*[\)\]\}>]\s*|\s+(?:at|arroba)\s+)"
_SPELLED_DOT = r"(?:\s*[\(\[\{<]\s*(?:dot|punto|point|punkt)\s*[\)\]\}>]\s*|\s+(?:dot|punto|point|punkt)\s+)"
_DOT = rf"(?:\s*\.\s*|{_SPELLED_DOT})"
_MAIL_PROVIDERS = (
    r"(?:g\s?m\s?a\s?i\s?l|googlemail|yahoo|ymail|hotmail|outlook|live|msn|aol|icloud|me|mac|proton(?:\s?mail)?|pm"
    r"|gmx|[a-z]*mail|yandex|zoho|tutanota|qq|163|web)"
)
_TLDS = r"(?:com|net|org|io|co|me|info|biz|us|uk|de|fr|es|it|nl|ru|in|ca|au|ch|se|pl|br|mx|jp|cn|app|dev|ai|eu)"
_EMAIL = re.compile(
    # The plain address.
    r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b"
    # Spelled out: "@"/"at" before a mail provider ("john at gmail", "john@gmail"), the domain optional.
    rf"|\b[\w%+-]+(?:{_DOT}[\w%+-]+)*{_AT}{_MAIL_PROVIDERS}(?:{_DOT}{_TLDS}(?:{_DOT}[a-z]{{2}})?)?\b"
    # Any domain with a spelled-out dot: "john at acme dot com", "j.doe(at)acme(dot)io".
    rf"|\b[\w.%+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_SPELLED_DOT}{_TLDS}\b"
    # "my gmail is markdesigns2020": the address given without its domain (a word with a digit, dot or plus).
    r"|\b(?:my|our)\s+(?:personal\s+|private\s+|other\s+)?(?:e-?mail|g\s?mail|mail|inbox|outlook|yahoo|hotmail)"
    r"(?:\s+(?:address|id|account))?\s*(?:is|:|=|-|->)\s*[\w.+-]*[\d.+_][\w.+-]*"
    # A personal mail domain named on its own: "anna.k + gmail.com".
    rf"|\b(?:g\s?mail|yahoo|hotmail|outlook|proton\s?mail|icloud|aol|gmx){_DOT}com\b"
    # "..., at gmail, write me there": the provider after a bare "at", the address around it in words.
    r"|(?:^|[\s,;(])(?:at|@)\s+(?:g\s?mail|yahoo|hotmail|outlook|rediffmail|proton\s?mail|icloud)\b(?!'s|\s+(?:api|smtp))",
    _FLAGS,
)

# Hosts whose pages are a way to reach someone or pay them outside the platform; any other link is work.
_CONTACT_HOSTS = (
    r"(?:wa\.me|api\.whatsapp\.com|chat\.whatsapp\.com|t\.me|telegram\.me|m\.me|messenger\.com|discord\.gg"
    r"|discord(?:app)?\.com/users|skype\.com|join\.skype\.com|signal\.me|line\.me|weixin\.qq\.com"
    r"|(?:instagram|facebook|fb|twitter|x|tiktok|snapchat)\.com/[\w.]+|linkedin\.com/in/"
    r"|calendly\.com|cal\.com|paypal\.me|paypal\.com/(?:paypalme|pools|donate)|venmo\.com|cash\.app"
    r"|buymeacoffee\.com|ko-fi\.com|patreon\.com|revolut\.me|wise\.com/pay|zoom\.us/j|meet\.google\.com"
    # Payment links: a checkout of one's own instead of the milestone.
    r"|buy\.stripe\.com|checkout\.stripe\.com|square\.link|pay\.sumup\.com|rzp\.io|razorpay\.me|paystack\.com/pay)"
)
_LINK = re.compile(
    rf"(?<![\w.-])(?:https?://)?(?:www\.)?{_CONTACT_HOSTS}(?:/[^\s)\]]*)?"
    # "wa dot me slash 1555...": the host obfuscated.
    r"|\b(?:wa|t)\s+dot\s+me\b(?:\s*(?:/|slash)\s*\S+)?"
    r"|\bskype:[\w.\-]+"
    # "calendly dot com slash carla": a contact page's host spelled out.
    r"|\b(?:calendly|paypal|venmo|linkedin|instagram|facebook|telegram|skype|wa|t|cal|cash)\s*(?:dot|\(dot\)|\[dot\])\s*"
    r"(?:com|me|app)\b(?:\s*(?:/|slash)\s*\S+)?",
    _FLAGS,
)
_DOMAIN = re.compile(rf"\b(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.{_TLDS}\b(?:/[^\s)\]]*)?", _FLAGS)
# A sentence that offers one's own site as the way to order or talk: any link in it is the way out.
_OWN_SITE_SENTENCE = re.compile(
    r"\bmy\s+(?:own\s+|personal\s+)?(?:website|web\s?site|site|portfolio|shop|store|blog|homepage|home\s+page)\b"
    r"|\b(?:contact|reach|email|message|write\s+to|find)\s+me\s+(?:there|directly|through\s+(?:it|the\s+form))"
    r"|\b(?:order|book|buy|hire\s+me)\s+(?:directly\s+)?(?:on|from|through|via)\s+my\b",
    _FLAGS,
)


# Apps whose name is not an everyday word: named with a way to use it ("on WhatsApp", "my telegram").
_APPS = (
    r"(?:whats\s?app|whatsapp|wa|telegram|tg|skype|we\s?chat|viber|discord|snap\s?chat|snap|kik|imessage|facetime"
    r"|insta(?:gram)?|ig|facebook|fb|messenger|linkedin|twitter|tiktok|zoom|google\s+meet|hangouts|signal\s+app"
    r"|signal|line|threema|session\s+app|element|matrix|kakao(?:\s?talk)?|zalo|qq|icq)"
)
# Instagram, LinkedIn, Facebook and the like are left out: a project posts on them as its work.
_UNAMBIGUOUS_APPS = (
    r"(?:whats\s?app|whatsapp|telegram|skype|we\s?chat|viber|discord|snap\s?chat|kik|imessage|facetime"
    r"|signal\s+app|line\s+id|threema|hangouts|kakao(?:\s?talk)?|zalo)"
)
_HANDLE = re.compile(
    # "add me on WhatsApp", "hit me up on insta", "reach me via telegram", "let's move to skype".
    r"\b(?:add|message|msg|text|txt|ping|contact|reach|call|find|dm|hit|follow\s+me|write|talk|chat|catch|join|move"
    r"|continue|switch|connect|talk|speak|send|drop)\b(?:\s+(?:me|us|him|her|them|up|each\s+other|this|it|there"
    r"|over|a\s+(?:message|line|dm|note)))*\s+(?:on|at|via|through|over|in|to|using|by)\s+(?:my\s+)?"
    rf"{_APPS}\b"
    # "my telegram is @johnd", "Skype: john.doe.42", "WeChat ID johnd", "discord john#1234".
    rf"|\b(?:my\s+)?{_APPS}\s*(?:id|handle|username|user\s?name|name|number|no\.?|account|acc|contact)?\s*"
    r"(?:is|:|=|-|->|👉)?\s*(?:@[\w.]+|[\w.\-]+#\d{3,5}|\+?\d[\d\s\-.]{5,}\d|[a-z][\w.\-]{2,}\d[\w.\-]*"
    r"|[a-z]+[._][\w.\-]+)"
    # "whatsapp me", "telegram me", "skype me".
    rf"|\b{_UNAMBIGUOUS_APPS}\s+(?:me|us)\b"
    # "I'm on WhatsApp", "reachable via telegram", "me over skype" (but a "Share on WhatsApp" button is work).
    r"|\b(?:i'?m|i\s+am|we'?re|we\s+are|available|active|reachable|online|me|us|chat|talk|there|contact|write|"
    rf"continue|discuss)\s+(?:on|via|over|through|using|in)\s+{_UNAMBIGUOUS_APPS}\b"
    # "we chat privately", "continue by video, not here".
    r"|\b(?:chat|talk|speak|continue|discuss|communicate|connect|deal)\b[^.!?\n]{0,25}?\b(?:privately|in\s+private|"
    r"outside(?:\s+of)?\s+(?:here|this)|off\s+here|elsewhere|not\s+here)\b"
    # "write me there", "add me there": after a channel named earlier in the message.
    r"|\b(?:write|text|message|contact|reach|add|find|call|email|mail|ping)\s+me\s+there\b"
    # "contact me on my private mail", "my personal number".
    r"|\bmy\s+(?:private|personal|own|direct)\s+(?:e-?mail|mail|number|phone|contact|account|line)\b"
    # "share your whatsapp number", "tell me your phone number", "put your phone or email in the attachment".
    r"|\b(?:share|send|give|tell|drop|put|write|leave|text|dm|pm|what'?s|whats|have|get|need|want|know)\b[^.!?\n]{0,20}?\b(?:your|ur|yr)\s+"
    r"(?:personal\s+|private\s+|direct\s+|own\s+)?(?:whats\s?app|telegram|skype|we\s?chat|viber|signal|phone|cell|"
    r"mobile|number|digits|e-?mail|email\s+address|mail|contact|insta(?:gram)?|handle|discord)\b"
    # "my insta", "my WhatsApp number", "my signal".
    rf"|\bmy\s+{_APPS}\b(?:\s+(?:id|handle|username|number|account))?",
    _FLAGS,
)

_PAY_PROVIDERS = (
    r"(?:pay\s?pal|venmo|zelle|cash\s?app|western\s+union|money\s?gram|wise|revolut|payoneer|skrill"
    r"|crypto|bitcoin|btc|usdt|tether|eth(?:ereum)?|bank\s+(?:transfer|account|details)|wire(?:\s+transfer)?"
    r"|iban|swift|sepa|bank|cash|kakao\s?pay|alipay|upi|gcash|m-?pesa)"
)
_PAYMENT = re.compile(
    # "pay me directly", "pay outside", "paid off the platform".
    r"\b(?:pay|paid|paying|payment|send|transfer|wire|invoice|bill|charge|upfront)\b(?:\s+(?:me|you|us|it|the\s+\w+|my\s+\w+))"
    r"{0,2}\s+(?:directly|direct|straight|myself|personally|in\s+person|outside|off[\s-]?(?:the\s+)?(?:platform|site|app)|privately|personally|offline)"
    # "outside (of) the platform", "off the site", "without the platform".
    r"|\b(?:outside|off|without|around|bypass(?:ing)?)\s+(?:of\s+)?(?:the\s+|this\s+)(?:platform|site|app|marketplace|"
    r"website|system)\b"
    r"|\boff[\s-]?platform\b"
    # "avoid the fee", "skip the commission", "save the platform's cut".
    r"|\b(?:avoid|avoids|avoiding|skip|skips|skipping|save|saves|saving|bypass|bypassing|dodge|cut\s+out|get\s+around|"
    r"escape|no\s+need\s+(?:to\s+)?(?:pay|for))\b[^.!?\n]{0,25}?\b(?:fees?|commission|cut|percentage|middleman)\b"
    # "pay me via PayPal", "send it to my Venmo", "transfer to my IBAN".
    rf"|\b(?:pay|paid|send|sent|transfer|wire|tip|invoice|bill)\b(?:\s+[\w$€£.,]+){{0,3}}?\s+"
    rf"(?:via|through|thru|thro|by|with|on|over|to|into|using|in|w/)\s+(?:my\s+|our\s+)?{_PAY_PROVIDERS}\b"
    rf"|\b(?:my|our)\s+{_PAY_PROVIDERS}\b"
    r"|\b(?:zelle|venmo|paypal|cashapp)\s+(?:me|it)\b"
    rf"|\b(?:i|we)\s+(?:only\s+|also\s+|can\s+|happily\s+)?(?:accept|take|prefer|use)\s+(?:payments?\s+(?:in|via|by)\s+)?{_PAY_PROVIDERS}"
    # An IBAN: country, check digits, then groups of four.
    r"|\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"
    r"|\b(?:deal|work)\s+(?:with\s+me\s+)?directly\b"
    r"|\bcancel\b[^.!?\n]{0,40}\b(?:contract|project|order|here|milestone)\b[^.!?\n]{0,40}\b(?:pay|work|deal|continue|"
    r"invoice|bill|finish|do\s+it)"
    # "finish this on Venmo", "settle via Wise".
    rf"|\b(?:finish|settle|close|complete|continue|move|take\s+it)\b[^.!?\n]{{0,20}}\b(?:on|via|through|over|with)\s+{_PAY_PROVIDERS}\b"
    # "my revtag is @sofiam92", "Venmo? @Derek-Film-Edits": a payment app's handle.
    rf"|\b(?:revtag|cashtag|{_PAY_PROVIDERS})\b[^.!?\n]{{0,25}}?(?:@|\$)[a-z][\w.-]{{2,}}"
    r"|\bto\s+my\s+(?:bank\s+)?(?:account|acc|iban)\b|\bsort\s+code\b"
    r"|\b(?:swift|bic)(?:\s+code)?\s*[:=]?\s*[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b"
    # "give me in cash", "pay me in person", "cash is fine".
    r"|\b(?:pay|paid|give|hand|bring)\b[^.!?\n]{0,30}?\bin\s+(?:person|cash)\b|\bcash\s+(?:is\s+fine|works|only|in\s+hand)"
    # "no need to fund the milestone", "faster than waiting for the milestone".
    r"|\b(?:no\s+need|don'?t\s+need|skip|instead\s+of|rather\s+than|faster\s+than|without)\b[^.!?\n]{0,20}\b(?:fund(?:ing)?|"
    r"releas(?:e|ing)|waiting\s+for)\s+(?:the\s+)?(?:milestone|escrow)",
    _FLAGS,
)

# Phone numbers: runs of digits (or digit words) joined by the separators people write numbers with.
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_DIGIT_UNIT = r"(?:\d|(?:zero|one|two|three|four|five|six|seven|eight|nine)\b)"
_NUMBER_RUN = re.compile(
    rf"\+?\s*\(?{_DIGIT_UNIT}(?:[\s\-.()/]{{0,3}}{_DIGIT_UNIT})+",
    _FLAGS,
)
_PHONE_WORDS = re.compile(
    r"\b(?:call|phone|tel|telephone|mobile|cell|cellphone|text|txt|sms|whats\s?app|ring|dial|reach|contact|viber|"
    r"signal|(?:my|your|ur|his|her|our)\s+(?:\w+\s+)?(?:number|num|no|digits))\b[^.\n]{0,25}$",
    _FLAGS,
)
# Digits that a reference word, a currency or coordinates come before, in the same clause: never a phone.
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:order|invoice|inv|po|p\.o\.|ref|reference|ticket|tracking|case|receipt|transaction|txn|sku|isbn|"
    r"ean|upc|gtin|asin|build|serial|s/n|part|item|account|acct|ids?|batch|lot|job|issue|pr|version|ver|v|"
    r"release|commit|iban|vat|tax|registration|reg|company|campaign|card|policy|licen[cs]e|permit|contract|"
    r"statement|application|patent|parcel|shipment|awb|booking|reservation|confirmation|member|customer|"
    r"client|employee|student|passport|routing|swift|bic|sort|hash|checksum|uuid|model|barcode|waybill|bill|"
    r"timestamp|unix|epoch)s?\b"
    r"[^.!?\n]{0,40}|#\s*|[$€£¥₹]\s*|\b(?:usd|eur|gbp|chf|cad|aud|inr)\s*|"
    r"\b(?:lat|long|lon|latitude|longitude|coords?)\b[^\d]{0,12})$",
    _FLAGS,
)
_UNIT_AFTER = re.compile(
    r"^\s*(?:[%$€£¥₹]|usd|eur|gbp|px|pt|em|rem|gb|mb|kb|tb|ms|s|sec|mins?|hours?|hrs?|days?|users?|rows?|"
    r"records?|views?|visits?|requests?|words?|pages?|items?|units?|pcs|km|m|cm|mm|kg|g|x\d)\b",
    _FLAGS,
)
# Digits spelled out, commas and all ("plus one, four one five, five five five"): nobody spells a long
# number in business, so seven spelled digits are a phone number whatever the words around them.
_SPELLED_RUN = re.compile(
    r"\b(?:plus\s+)?(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple)"
    r"(?:[\s,\-.]+(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple|\d))+\b",
    _FLAGS,
)
_DATE = re.compile(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b")
# "My mobile starts with +49 151 and the rest is 2345 6789": a number split across its own sentence.
_NAMED_NUMBER = re.compile(
    r"\b(?:my|our)\s+(?:mobile|phone|cell|cellphone|number|tel|whats\s?app)\b[^.!?\n]{0,60}?\+?\d[\d\s\-.()/]{2,}\d",
    _FLAGS,
)
PHONE_MIN_DIGITS = 9
PHONE_MIN_DIGITS_NAMED = 7  # "call me on 555 1234": a shorter number when the message says it is one
PHONE_MAX_DIGITS = 15  # E.164


def _digits_of(run: str) -> str:
    return "".join(
        word if word.isdigit() else _DIGIT_WORDS.get(word.lower(), "") for word in re.findall(r"\d|[a-z]+", run, _FLAGS)
    )


def _phone_matches(text: str) -> list[ContactMatch]:
    found = [
        ContactMatch(ContactKind.PHONE, run.start(), run.end())
        for run in _SPELLED_RUN.finditer(text)
        if len(_digits_of(run.group())) >= PHONE_MIN_DIGITS_NAMED
    ]
    if sum(map(str.isdigit, text)) < PHONE_MIN_DIGITS_NAMED:
        return found
    found += [ContactMatch(ContactKind.PHONE, m.start(), m.end()) for m in _NAMED_NUMBER.finditer(text)]
    for run in _NUMBER_RUN.finditer(text):
        start, end = run.span()
        while start < end and text[start].isspace():
            start += 1
        digits = _digits_of(run.group())
        if not PHONE_MIN_DIGITS_NAMED <= len(digits) <= PHONE_MAX_DIGITS:
            continue
        before, after = text[:start], text[end:]
        if _REFERENCE_BEFORE.search(before[-60:]):
            continue
        named = _PHONE_WORDS.search(before[-40:]) is not None
        if len(digits) < PHONE_MIN_DIGITS and not named:
            continue
        if not run.group().lstrip().startswith("+") and not named and _not_a_phone(run.group(), before, after):
            continue
        found.append(ContactMatch(ContactKind.PHONE, start, end))
    return found


def _not_a_phone(number: str, before: str, after: str) -> bool:
    if _UNIT_AFTER.match(after):
        return True
    # Glued to letters or to a decimal part: part of an identifier, a version or an amount.
    if (before and (before[-1].isalnum() or before[-1] in "-_/.,")) or (
        after and (after[0].isalnum() or after[0] in "-_/,:")
    ):
        return True
    if _DATE.search(number):
        return True
    compact = re.sub(r"\D", "", number)
    # A round figure (1000000000) or a dotted version/IP-like string (10.0.19045.3693).
    return "000000" in compact or re.fullmatch(r"\d{1,5}(?:\.\d{1,5}){2,}", number.strip()) is not None


def _own_site_links(text: str) -> list[ContactMatch]:
    found: list[ContactMatch] = []
    if not _OWN_SITE_SENTENCE.search(text):
        return found
    for sentence in re.finditer(r"[^.!?\n]+(?:[.!?](?=\S)[^.!?\n]*)*", text):
        if _OWN_SITE_SENTENCE.search(sentence.group()):
            offset = sentence.start()
            found += [
                ContactMatch(ContactKind.LINK, offset + m.start(), offset + m.end())
                for m in _DOMAIN.finditer(sentence.group())
            ]
    return found


# Each pattern runs only on a text holding one of its words (lower case): most messages hold none, and a
# substring test costs a fraction of a regex scan, which Python's engine starts at every position.
_PATTERNS = (
    (
        ContactKind.EMAIL,
        _EMAIL,
        (
            "@",
            " at ",
            "(at)",
            "[at]",
            "{at}",
            "<at>",
            "ät",
            "arroba",
            "mail",
            "yahoo",
            "outlook",
            "proton",
            "icloud",
            "aol",
            "gmx",
            "inbox",
        ),
    ),
    (
        ContactKind.LINK,
        _LINK,
        (
            "wa.",
            "whatsapp.",
            "t.me",
            "telegram.",
            "m.me",
            "messenger.",
            "discord",
            "skype",
            "signal.",
            "line.",
            "weixin",
            "instagram",
            "facebook",
            "fb.",
            "twitter.",
            "x.com",
            "tiktok.",
            "snapchat.",
            "linkedin",
            "calendly",
            "cal",
            "paypal",
            "venmo",
            "cash",
            "buymeacoffee",
            "ko-fi",
            "patreon",
            "revolut",
            "wise.",
            "zoom.",
            "meet.",
            " dot ",
            "(dot)",
            "[dot]",
        ),
    ),
    (
        ContactKind.HANDLE,
        _HANDLE,
        (
            "what",
            "telegram",
            "tg",
            "skype",
            "chat",
            "viber",
            "discord",
            "snap",
            "kik",
            "imessage",
            "facetime",
            "insta",
            "ig",
            "facebook",
            "fb",
            "messenger",
            "linkedin",
            "twitter",
            "tiktok",
            "zoom",
            "meet",
            "hangouts",
            "signal",
            "line",
            "threema",
            "session",
            "element",
            "matrix",
            "wa",
            "kakao",
            "zalo",
            "qq",
            "icq",
            "there",
            "personal",
            "own",
            "your",
            " ur ",
            " yr ",
            "private",
            "outside",
            "off here",
            "elsewhere",
            "not here",
        ),
    ),
    (
        ContactKind.PAYMENT,
        _PAYMENT,
        (
            "pay",
            "fee",
            "commission",
            "direct",
            "outside",
            "off",
            "without",
            "around",
            "bypass",
            "transfer",
            "wire",
            "invoice",
            "bill",
            "charge",
            "zelle",
            "venmo",
            "cash",
            "crypto",
            "bitcoin",
            "btc",
            "usdt",
            "tether",
            "eth",
            "bank",
            "iban",
            "swift",
            "sepa",
            "wise",
            "revolut",
            "payoneer",
            "skrill",
            "western",
            "gram",
            "cancel",
            "accept",
            "take",
            "prefer",
            "middleman",
            "cut",
            "percent",
            "tip",
            "sent",
            "send",
            "tag",
            "person",
            "milestone",
            "escrow",
            "straight",
            "myself",
            "upfront",
            "settle",
            "finish",
            "sort code",
            "alipay",
            "upi",
            "gcash",
            "pesa",
        ),
    ),
)
# An IBAN has no word to look for: upper-case letters and digits, looked for wherever digits are.
_IBAN_HINT = re.compile(r"[A-Z]{2}\d{2}")


def contact_matches(text: str) -> list[ContactMatch]:
    """The off-platform contact parts of ``text``, in order, overlapping matches merged into the first."""
    lowered = text.lower()
    found = [
        ContactMatch(kind, m.start(), m.end())
        for kind, pattern, words in _PATTERNS
        if any(word in lowered for word in words) or (kind is ContactKind.PAYMENT and _IBAN_HINT.search(text))
        for m in pattern.finditer(text)
    ]
    found += _phone_matches(text) + _own_site_links(text)
    found.sort(key=lambda match: (match.start, -match.end))
    merged: list[ContactMatch] = []
    for match in found:
        if merged and match.start < merged[-1].end:
            if match.end > merged[-1].end:
                merged[-1] = ContactMatch(merged[-1].kind, merged[-1].start, match.end)
            continue
        merged.append(match)
    return merged


MASK = "[contact hidden]"


def masked(text: str, matches: list[ContactMatch]) -> str:
    """``text`` with each match replaced by ``MASK``."""
    parts, position = [], 0
    for match in matches:
        parts += [text[position : match.start], MASK]
        position = match.end
    parts.append(text[position:])
    return "".join(parts)
