"""Time an import of N generated rows (default 10,000) through the real services: upload (read the
file, guess the columns), check (verdicts, bulk duplicate lookups), import (bulk insert of customers,
contacts and history). Everything is rolled back afterwards, the uploaded file deleted."""

import csv
import io
import random
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from accounts import roles
from accounts.models import Department, User
from collection import services
from collection.models import ImportStatus
from customers.validators import CREDIT_CODE_CHARSET, credit_code_check_char


class Rollback(Exception):
    pass


def _rows(n: int) -> bytes:
    rng = random.Random(12)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["公司名称", "统一社会信用代码", "行业", "城市", "联系人", "手机", "邮箱", "地址"])
    codes: set[str] = set()
    for i in range(n):
        code = ""
        while not code or code in codes:
            first17 = "91440300" + "".join(rng.choice(CREDIT_CODE_CHARSET) for _ in range(9))
            code = first17 + credit_code_check_char(first17)
        codes.add(code)
        writer.writerow(
            [f"基准测试{i}号电子有限公司", code, "电子", "深圳市", "王经理", f"199{i:08d}", "", "南山区科技园"]
        )
    return out.getvalue().encode("gbk")


class Command(BaseCommand):
    help = "Time a 10,000-row import (R1.2) on the configured database; rolls everything back."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000)

    def handle(self, *args, rows: int, **options):
        data = _rows(rows)
        timings: dict[str, float] = {}
        counts: tuple[int, ...] = ()
        batch = None
        try:
            with transaction.atomic():
                department, _ = Department.objects.get_or_create(code="bench-import", defaults={"name": "基准测试部"})
                user, _ = User.objects.get_or_create(username="bench-import", defaults={"department": department})
                from django.contrib.auth.models import Group

                user.groups.add(Group.objects.get_or_create(name=roles.MANAGER)[0])
                user = User.objects.get(pk=user.pk)
                t = time.monotonic()
                batch = services.import_upload(user=user, file_name="bench.csv", data=data, source="media")
                timings["upload (read, guess columns, store)"] = time.monotonic() - t
                t = time.monotonic()
                batch = services.import_check(batch=batch, user=user, mapping=batch.mapping)
                batch = services.import_check_run(batch_id=batch.pk)  # the task, run here
                timings["check (verdicts, duplicate lookups)"] = time.monotonic() - t
                assert batch.status == ImportStatus.CHECKED, batch.error
                t = time.monotonic()
                batch = services.import_start(batch=batch, user=user)
                batch = services.import_run(batch_id=batch.pk)  # the task, run here
                timings["import (customers, contacts, history)"] = time.monotonic() - t
                # On a populated database (crm_bench) some generated rows meet existing customers:
                # they are reported as duplicates, not imported.
                assert batch.status == ImportStatus.DONE, batch.error
                counts = (batch.new_count, batch.duplicate_count, batch.in_file_count, batch.invalid_count)
                raise Rollback
        except Rollback:
            pass
        finally:
            if batch is not None:
                services._remove_file(batch)
        self.stdout.write(f"{connection.vendor}: {rows:,} rows, {len(data) / 2**20:.1f} MB GBK CSV")
        if counts:
            self.stdout.write(
                "  verdicts: {:,} new (imported), {:,} already customers, {:,} repeated in the file, "
                "{:,} invalid".format(*counts)
            )
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM customers_customer")
            self.stdout.write(f"  customers in the database: {cursor.fetchone()[0]:,}")
        for step, seconds in timings.items():
            self.stdout.write(f"  {step}: {seconds:.2f} s")
        self.stdout.write(f"  total: {sum(timings.values()):.2f} s")
