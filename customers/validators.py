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
