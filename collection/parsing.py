"""Reading an uploaded customer list (R1.2): .xlsx or .csv (UTF-8, UTF-8 with BOM, GBK as Chinese
Excel writes it, or UTF-16), guessing which column holds what from Chinese or English headers,
and cleaning one row into customer fields with the reasons it cannot be imported.

Pure functions over bytes and strings: no database here (duplicates are the services' job)."""

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Industry
from customers.validators import (
    company_near_key,
    normalize_company_name,
    normalize_credit_code,
    normalize_phone,
    validate_credit_code,
)

MAX_FILE_BYTES = 30 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 100
MAX_CELL = 2000  # longer cells are cut in the stored raw copy (the limits below reject them anyway)

# The fields a column can be mapped to, in the order the preview shows them.
FIELDS: dict[str, Any] = {
    "name": gettext_lazy("Company name"),
    "credit_code": gettext_lazy("Unified social credit code"),
    "industry": gettext_lazy("Industry"),
    "city": gettext_lazy("City"),
    "contact": gettext_lazy("Contact"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"),
    "address": gettext_lazy("Address"),
}
MAX_LENGTHS = {"name": 200, "city": 30, "contact": 60, "phone": 30, "email": 254, "address": 255, "industry": 60}

# Header words, most specific first: a header is matched exactly, then by containing one of them.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "credit_code": (
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
        "税号",
        "unifiedsocialcreditcode",
        "creditcode",
        "uscc",
    ),
    "name": (
        "公司名称",
        "企业名称",
        "单位名称",
        "客户名称",
        "公司全称",
        "企业全称",
        "公司",
        "企业",
        "单位",
        "客户",
        "名称",
        "companyname",
        "company",
        "customername",
        "customer",
        "enterprise",
        "name",
    ),
    "industry": ("所属行业", "行业类别", "行业", "industry", "sector"),
    "city": ("所在城市", "城市", "地市", "地区", "city"),
    "contact": ("联系人姓名", "联系人", "负责人", "姓名", "contactperson", "contactname", "contact"),
    "phone": (
        "联系电话",
        "手机号码",
        "手机号",
        "电话号码",
        "手机",
        "电话",
        "联系方式",
        "mobile",
        "telephone",
        "phone",
        "tel",
    ),
    "email": ("电子邮箱", "电子邮件", "邮箱", "邮件", "email", "mail"),
    "address": ("详细地址", "公司地址", "通讯地址", "注册地址", "地址", "address"),
}

INDUSTRY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (Industry.ELECTRONICS, ("电子", "半导体", "electronic")),
    (Industry.SOFTWARE, ("软件", "信息", "互联网", "计算机", "software", "it")),
    (Industry.CONSTRUCTION, ("建筑", "建设", "工程", "装修", "construction")),
    (Industry.RETAIL, ("零售", "批发", "贸易", "商贸", "retail", "wholesale", "trade")),
    (Industry.LOGISTICS, ("物流", "运输", "快递", "仓储", "logistic")),
    (Industry.FOOD, ("食品", "饮料", "餐饮", "food", "beverage")),
    (Industry.CHEMICAL, ("化工", "化学", "chemical")),
    (Industry.MEDICAL, ("医疗", "医药", "制药", "医院", "medical", "pharma")),
    (Industry.ENERGY, ("能源", "电力", "新能源", "石油", "energy")),
    (Industry.EDUCATION, ("教育", "培训", "学校", "education")),
    (Industry.FINANCE, ("金融", "银行", "保险", "证券", "finance", "bank")),
    (Industry.AGRICULTURE, ("农业", "农林", "畜牧", "渔业", "agricultur")),
    (Industry.MANUFACTURING, ("制造", "机械", "加工", "工业", "manufactur")),
)

_PHONE_SPLIT = re.compile(r"[,;/、，；]+")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FileUnreadable(Exception):
    """The file cannot be read at all; the message is shown as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    file_format: str
    encoding: str
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (spreadsheet row number, cells)
    estimated_rows: int = 0


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        # Excel stores phone numbers and codes typed as numbers as floats: 13800138000.0.
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:MAX_CELL].strip()


def detect_format(name: str, head: bytes) -> str:
    lower = (name or "").lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileUnreadable(_("This is an old Excel .xls file: open it in Excel or WPS and save it as .xlsx or .csv."))
    if lower.endswith((".csv", ".txt")):
        return "csv"
    if lower.endswith((".xlsx", ".xlsm")):
        raise FileUnreadable(_("The file is not a valid .xlsx workbook."))
    raise FileUnreadable(_("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."))


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 with or without BOM, UTF-16 with BOM, or GBK
    (read as GB 18030, its superset)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8 BOM"
        except UnicodeDecodeError as exc:
            raise FileUnreadable(_("The file says it is UTF-8 but is not: save it again as CSV UTF-8.")) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise FileUnreadable(_("The file cannot be read as UTF-16 text.")) from exc
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GBK"
    except UnicodeDecodeError as exc:
        raise FileUnreadable(
            _("The text is neither UTF-8 nor GBK: save the file as CSV UTF-8 and upload it again.")
        ) from exc


def _delimiter(sample: str) -> str:
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows_with_header(cells_iter: Iterator[list[str]]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The first non-empty row is the header; then every non-empty row with its row number."""
    number = 0
    headers: list[str] = []
    for cells in cells_iter:
        number += 1
        if any(cells):
            headers = cells[:MAX_COLUMNS]
            break
    if not headers:
        raise FileUnreadable(_("The file is empty: no header row was found."))
    start = number

    def rest() -> Iterator[tuple[int, list[str]]]:
        n = start
        count = 0
        for cells in cells_iter:
            n += 1
            if not any(cells):
                continue
            count += 1
            if count > MAX_ROWS:
                raise FileUnreadable(
                    _("The file has more than %(max)d rows: split it into smaller files.") % {"max": MAX_ROWS}
                )
            yield n, cells[:MAX_COLUMNS]

    return headers, rest()


def read_table(name: str, data: bytes) -> Table:
    """Open the file and read its header; the rows are read lazily as the returned iterator is
    consumed (it may raise FileUnreadable part-way, for a corrupt workbook or too many rows)."""
    if not data:
        raise FileUnreadable(_("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise FileUnreadable(
            _("The file is larger than %(mb)d MB: split it into smaller files.") % {"mb": MAX_FILE_BYTES // 2**20}
        )
    fmt = detect_format(name, data[:8])
    if fmt == "xlsx":
        return _read_xlsx(data)
    text, encoding = decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text[:4096]))

    def cells_iter() -> Iterator[list[str]]:
        try:
            for row in reader:
                yield [_cell_text(c) for c in row]
        except csv.Error as exc:
            raise FileUnreadable(
                _("The CSV file is malformed near line %(line)d.") % {"line": reader.line_num}
            ) from exc

    headers, rows = _rows_with_header(cells_iter())
    # Old Mac files end lines with CR alone.
    return Table("csv", encoding, headers, rows, estimated_rows=max(text.count("\n"), text.count("\r")))


# A workbook is a zip: its parts are checked before anything is unpacked, so that a small file
# cannot unpack into gigabytes (a "zip bomb": one cell of 500 MB compresses to 0.5 MB).
MAX_XLSX_UNPACKED = 500 * 2**20
MAX_XLSX_RATIO = 200
XLSX_BYTES_PER_ROW = 200  # a row of sheet XML, on the small side: the estimate errs towards "large"


def _check_zip(data: bytes) -> int:
    """Refuse a workbook that would unpack too large; return the unpacked size of its sheets."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileUnreadable(_("The file is not a valid .xlsx workbook.")) from exc
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > MAX_XLSX_UNPACKED or total > MAX_XLSX_RATIO * max(packed, 1):
        raise FileUnreadable(
            _("The workbook unpacks to more than %(mb)d MB or is abnormally compressed: save it again as .xlsx or CSV.")
            % {"mb": MAX_XLSX_UNPACKED // 2**20}
        )
    return sum(i.file_size for i in infos if i.filename.startswith("xl/worksheets/"))


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    sheets_size = _check_zip(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        estimated = ws.max_row or 0
        if estimated <= 1:
            # No <dimension> in the file (openpyxl's write-only mode, this CRM's own exports):
            # estimate from the sheet's size so that a large file still goes to Celery.
            estimated = sheets_size // XLSX_BYTES_PER_ROW
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError) as exc:
        raise FileUnreadable(_("The file is not a valid .xlsx workbook.")) from exc
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise FileUnreadable(_("The file is not a valid .xlsx workbook.")) from exc

    def cells_iter() -> Iterator[list[str]]:
        try:
            for row in ws.iter_rows(values_only=True):
                cells = [_cell_text(c) for c in row]
                while cells and not cells[-1]:
                    cells.pop()
                yield cells
        except FileUnreadable:
            raise
        except Exception as exc:
            raise FileUnreadable(_("The workbook is damaged and cannot be read to the end.")) from exc
        finally:
            wb.close()

    headers, rows = _rows_with_header(cells_iter())
    return Table("xlsx", "", headers, rows, estimated_rows=max(0, estimated - 1))


# --- Column mapping -------------------------------------------------------------------------------


def _header_key(value: str) -> str:
    return re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", value or "").lower())


def guess_mapping(headers: list[str]) -> dict[str, int | None]:
    """field -> column index (or None), from the header words; each column is used once."""
    keys = [_header_key(h) for h in headers]
    mapping: dict[str, int | None] = dict.fromkeys(FIELDS)
    used: set[int] = set()
    # Exact matches first, for every field; then containment, most specific word first.
    for exact in (True, False):
        for fld, words in SYNONYMS.items():
            if mapping[fld] is not None:
                continue
            for word in words:
                hit = next(
                    (
                        i
                        for i, k in enumerate(keys)
                        if i not in used and k and (k == word if exact else (word in k and len(word) >= 2))
                    ),
                    None,
                )
                if hit is not None:
                    mapping[fld] = hit
                    used.add(hit)
                    break
    return mapping


def clean_mapping(raw: dict[str, Any], n_columns: int) -> tuple[dict[str, int | None], list[str]]:
    """A submitted mapping checked: indexes within the header, no column twice, a name column."""
    mapping: dict[str, int | None] = {}
    errors: list[str] = []
    for fld in FIELDS:
        value = raw.get(fld)
        if value in (None, ""):
            mapping[fld] = None
            continue
        try:
            index = int(value)
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < n_columns:
            errors.append(_("%(field)s: choose one of the file's columns.") % {"field": FIELDS[fld]})
            mapping[fld] = None
            continue
        mapping[fld] = index
    seen: dict[int, str] = {}
    for fld, column in mapping.items():
        if column is None:
            continue
        if column in seen:
            errors.append(
                _("%(a)s and %(b)s are mapped to the same column.") % {"a": FIELDS[seen[column]], "b": FIELDS[fld]}
            )
        seen[column] = fld
    if mapping.get("name") is None:
        errors.append(_("Choose the column that holds the company name."))
    return mapping, errors


# --- One row ---------------------------------------------------------------------------------------


@dataclass
class CleanRow:
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    code: str = ""
    name_key: str = ""
    near_key: str = ""  # customers.validators.company_near_key: a possible duplicate, a warning only
    phone_digits: list[str] = field(default_factory=list)


def split_phones(text: str) -> list[str]:
    """ "13800138000, 0755-8888 6666" → two numbers. Spaces separate numbers only when every part
    is a whole number on its own ("+86 138 0013 8000" stays one)."""
    phones: list[str] = []
    for part in _PHONE_SPLIT.split(text):
        part = part.strip()
        if not part:
            continue
        pieces = part.split()
        if len(pieces) > 1 and all(len(normalize_phone(p)) >= 7 for p in pieces):
            phones.extend(pieces)
        else:
            phones.append(part)
    return phones


def industry_for(text: str) -> str | None:
    lower = text.lower()
    for value, label in Industry.choices:
        if lower in (value, str(label).lower()):
            return value
    for value, words in INDUSTRY_WORDS:
        if any(w in lower for w in words):
            return value
    return None


def clean_row(cells: list[str], mapping: dict[str, int | None]) -> CleanRow:
    row = CleanRow()
    values: dict[str, str] = {}
    for fld, index in mapping.items():
        value = cells[index] if index is not None and index < len(cells) else ""
        if "\x00" in value:
            row.errors.append(_("%(field)s contains a NUL byte.") % {"field": FIELDS[fld]})
            value = value.replace("\x00", "")
        value = _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()
        limit = MAX_LENGTHS.get(fld)
        if limit and len(value) > limit:
            row.errors.append(_("%(field)s is longer than %(max)d characters.") % {"field": FIELDS[fld], "max": limit})
        values[fld] = value
    notes: list[str] = []
    name = values.get("name", "")
    if not name:
        row.errors.append(_("The company name is empty."))
    row.name_key = normalize_company_name(name)
    row.near_key = company_near_key(name)
    if name and not row.name_key:
        row.errors.append(_("The company name has no letters or digits."))
    code = normalize_credit_code(values.get("credit_code", ""))
    if code:
        try:
            validate_credit_code(code)
        except ValidationError as exc:
            row.errors.append(
                _("Credit code %(code)s: %(error)s") % {"code": code[:30], "error": " ".join(exc.messages)}
            )
        row.code = code
    industry: str = Industry.OTHER
    if values.get("industry"):
        found = industry_for(values["industry"])
        if found:
            industry = found
        else:
            notes.append(_("Industry in the file: %(text)s") % {"text": values["industry"]})
    phones = split_phones(values.get("phone", ""))
    for p in phones:
        digits = normalize_phone(p)
        if not 7 <= len(digits) <= 20:
            row.errors.append(_("%(phone)s is not a phone number.") % {"phone": p[:30]})
        else:
            row.phone_digits.append(digits)
    if len(phones) > 1:
        notes.append(_("Other phones: %(phones)s") % {"phones": ", ".join(phones[1:])})
    email = values.get("email", "")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            row.errors.append(_("%(email)s is not an email address.") % {"email": email[:60]})
    contact_name = values.get("contact", "")
    if contact_name and not (phones or email):
        notes.append(_("Contact without a phone or email: %(name)s") % {"name": contact_name})
    row.data = {
        "name": name,
        "credit_code": code,
        "industry": industry,
        "city": values.get("city", ""),
        "address": values.get("address", ""),
        "contact": contact_name,
        "phone": phones[0] if phones else "",
        "email": email,
        "notes": "\n".join(notes),
        "phone_digits": row.phone_digits,
    }
    return row
