"""Unified social credit code (统一社会信用代码), GB 32100-2015, and normalisation helpers."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# GB 32100-2015 code characters: digits and capitals without I, O, Z, S, V.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> None:
    if len(value) != 18:
        raise ValidationError(
            _("A unified social credit code has exactly 18 characters (this one has %(n)d)."),
            code="length",
            params={"n": len(value)},
        )
    bad = sorted({c for c in value if c not in CREDIT_CODE_CHARSET})
    if bad:
        raise ValidationError(
            _("Invalid characters %(chars)s: only digits and capital letters except I, O, Z, S, V are used."),
            code="charset",
            params={"chars": " ".join(bad)},
        )
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValidationError(
            _("The check character is wrong: please verify the code against the business licence."),
            code="check",
        )


def normalize_credit_code(value: str) -> str:
    """Users paste codes with spaces, full-width characters and lower case: accept those."""
    return unicodedata.normalize("NFKC", value or "").strip().replace(" ", "").upper()


_NAME_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize_company_name(value: str) -> str:
    """Key for duplicate detection (R5.1): full-width folded, case and punctuation ignored,
    so 深圳市华为技术有限公司 and ＂深圳市 华为技术（有限）公司＂ compare equal."""
    # At most 200 characters, the column's size: NFKC can lengthen a 200-character name
    # (㍿ → 株式会社), and two names alike in their first 200 folded characters are the same company.
    return _NAME_DROP.sub("", unicodedata.normalize("NFKC", value or "").lower())[:200]


def normalize_phone(value: str) -> str:
    """Digits only, without the +86 / 0086 country prefix of a mobile number."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11 and digits[len(prefix)] == "1":
            return digits[len(prefix) :]
    return digits


# --- Near duplicates: the same company written another way ------------------------------------

# Administrative-division words, longest first (a place keeps its name, loses the word).
_DIVISION = "特别行政区|自治区|自治州|自治县|地区|省|市|区|县"
_BRACKETED_PLACE = re.compile(rf"\(([\u4e00-\u9fff]{{2,5}}?)(?:{_DIVISION})\)")
_LEADING_PLACE = re.compile(rf"([\u4e00-\u9fff]{{2,5}}?)(?:{_DIVISION})")
# Provinces and autonomous regions: dropped when a city follows (广东省深圳市X is 深圳市X). Not the
# municipalities (北京市海淀区X is 北京海淀X: the city is the place).
_PROVINCES = frozenset(
    [
        "河北",
        "山西",
        "辽宁",
        "吉林",
        "黑龙江",
        "江苏",
        "浙江",
        "安徽",
        "福建",
        "江西",
        "山东",
        "河南",
        "湖北",
        "湖南",
        "广东",
        "海南",
        "四川",
        "贵州",
        "云南",
        "陕西",
        "甘肃",
        "青海",
        "台湾",
        "内蒙古",
        "广西",
        "广西壮族",
        "西藏",
        "宁夏",
        "宁夏回族",
        "新疆",
        "新疆维吾尔",
    ]
)
# The organisation's legal form at the end of the name, longest first.
_FORM_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "有限合伙",
    "公司",
    "companylimited",
    "colimited",
    "coltd",
    "limited",
    "ltd",
    "incorporated",
    "inc",
    "corporation",
    "corp",
    "llc",
)
NEAR_KEY_MIN_LENGTH = 2


def company_near_key(value: str) -> str:
    """Key under which two spellings of one company meet, for a warning, never a refusal:
    深圳市X有限公司, 深圳X有限公司, 广东省深圳市X股份有限公司 and X（深圳市）… differ only in the words of an
    administrative division (省/市/区/县 …, the province before a city) and the legal form at the end
    (有限公司/有限责任公司/股份有限公司, Co., Ltd. …). A place keeps its name (深圳X and 上海X stay apart),
    a bracketed place its name (中国平安（上海） and （北京） stay apart), a branch its 分公司, a group
    its 集团. Empty when too little is left to compare."""
    text = unicodedata.normalize("NFKC", value or "").lower()
    text = _BRACKETED_PLACE.sub(r"(\1)", text)
    text = _NAME_DROP.sub("", text)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _FORM_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                stripped = True
                break
    places: list[str] = []
    position = 0
    while len(places) < 3 and (match := _LEADING_PLACE.match(text, position)):
        places.append(match.group(1))
        position = match.end()
    if len(places) >= 2 and places[0] in _PROVINCES:
        places = places[1:]
    key = "".join(places) + text[position:]
    return key[:200] if len(key) >= NEAR_KEY_MIN_LENGTH else ""
