"""Builders of customer-list files for the collection tests."""

import csv
import io

from openpyxl import Workbook

from .factories import company_name, make_credit_code

HEADER = ["公司名称", "统一社会信用代码", "行业", "城市", "联系人", "手机", "邮箱", "地址"]


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], *, header: list[str] | None = None) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(header or HEADER)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def generated_rows(n: int, *, start: int = 0, seed: int = 7) -> list[list[str]]:
    """n distinct valid rows: unique names, codes and phones."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(start, start + n):
        rows.append(
            [
                company_name(100_000 + i),
                make_credit_code(rng),
                "电子",
                "深圳市",
                "王经理",
                f"139{i:08d}",
                f"buyer{i}@example.com",
                "深圳市南山区科技园",
            ]
        )
    # make_credit_code may repeat in a huge sample: keep the codes unique
    seen: set[str] = set()
    for row in rows:
        while row[1] in seen:
            row[1] = make_credit_code(rng)
        seen.add(row[1])
    return rows
