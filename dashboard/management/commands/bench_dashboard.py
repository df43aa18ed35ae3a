"""Benchmark of the home pages at a million customers (issue 13), on the data `bench_pool --keep`
loaded: `manage.py bench_dashboard`.

A step of its own beside bench_pool (the benchmark harness is being reorganised, issue 14): it
(a) adds what bench_pool does not load, set-based and once (a year of orders and payments, this
month's visit plans and visits, service requests), (b) times the nightly summary the dashboard
adds to the nightly job, and (c) renders in process, through Django's test client, the pool page
(the yardstick), the salesperson's workbench, the managers' dashboard and the finance home: the
median of --runs renders each and its number of queries, then the same pages computed live
(without the summary) to show what the summary saves. Like bench_pool it refuses any database whose
name does not start with "crm_bench".

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench manage.py bench_pool --keep --no-http
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench manage.py bench_dashboard
"""

import statistics
import time
from unittest import mock

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

BENCH_DB_PREFIX = "crm_bench"
MARK = "bench_dashboard"


class Command(BaseCommand):
    help = "Times the home pages (workbench, dashboard, finance home) against the pool page on bench_pool's data."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=7, help="timed renders per page (after two warm-ups)")
        parser.add_argument("--orders", type=int, default=60_000, help="orders loaded over the last 12 months")
        parser.add_argument("--no-live", action="store_true", help="skip the live (summary-less) renders")

    def handle(self, *args, **opts):
        self._guard()
        self.now = timezone.now()
        self._load(opts["orders"])
        t0 = time.monotonic()
        from dashboard.summary import summarize

        run = summarize(triggered_by=MARK, rebuild=True)
        rebuild_s = time.monotonic() - t0
        t0 = time.monotonic()
        summarize(triggered_by=MARK)
        nightly_s = time.monotonic() - t0
        self.stdout.write(
            f"nightly summary: first (whole history) {rebuild_s:.2f} s, then a night's {nightly_s:.2f} s "
            f"({run.duration_ms} ms inside)"
        )
        rows = self._measure(opts["runs"], live=False)
        if not opts["no_live"]:
            with mock.patch("dashboard.selectors.latest_run", return_value=None):
                rows += self._measure(max(3, opts["runs"] // 2), live=True, pages=("pool", "team"))
        self._report(rows)

    # --- Safety -------------------------------------------------------------------------------
    def _guard(self) -> None:
        name = connection.settings_dict["NAME"] or ""
        if connection.vendor != "postgresql" or not name.startswith(BENCH_DB_PREFIX):
            raise CommandError(f"bench_dashboard runs on a PostgreSQL database named {BENCH_DB_PREFIX}…, not {name!r}.")
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM accounts_user WHERE username = 'bench_manager'")
            if not cur.fetchone()[0]:
                raise CommandError("Load the data first: manage.py bench_pool --keep --no-http")

    # --- (a) What bench_pool does not load -----------------------------------------------------
    def _load(self, n_orders: int) -> None:
        from django.contrib.auth.models import Group

        from accounts.models import User

        finance, created = User.objects.get_or_create(
            username="bench_finance", defaults={"display_name": "钱财务", "email": "bench_finance@example.com"}
        )
        if created:
            finance.groups.add(Group.objects.get_or_create(name="finance")[0])
        self.finance_id = finance.pk
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM sales_order WHERE description = %s", [MARK])
            if cur.fetchone()[0]:
                self.stdout.write("orders, plans, visits and requests already loaded")
                return
        self.stdout.write(f"loading {n_orders:,} orders, payments, plans, visits and service requests …")
        t0 = time.monotonic()
        params = {"now": self.now, "mark": MARK, "finance": finance.pk, "n": n_orders}
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            # Orders of owned customers, sale dates spread over the last year; 85 % paid in full,
            # 10 % part-paid (receivables), 5 % waiting for their first payment.
            cur.execute(
                """
                INSERT INTO sales_order (customer_id, department_id, salesperson_id, amount, deal_date, description,
                                         paid_amount, status, confirmed_on, created_at)
                SELECT c.id, c.department_id, c.owner_id, a.amount, s.sale - 2, %(mark)s,
                       CASE WHEN c.id %% 20 = 0 THEN 0 WHEN c.id %% 10 = 1 THEN round(a.amount * 0.4) ELSE a.amount END,
                       CASE WHEN c.id %% 20 = 0 THEN 'awaiting' WHEN c.id %% 10 = 1 THEN 'partly_paid' ELSE 'paid' END,
                       CASE WHEN c.id %% 20 = 0 THEN NULL ELSE s.sale END,
                       (s.sale - 2)::timestamp AT TIME ZONE 'Asia/Shanghai'
                FROM (SELECT id, owner_id, department_id FROM customers_customer WHERE owner_id IS NOT NULL
                      ORDER BY id LIMIT %(n)s) c
                CROSS JOIN LATERAL (SELECT ((%(now)s AT TIME ZONE 'Asia/Shanghai')::date - (c.id * 7919 %% 365)::int)
                                    AS sale) s
                CROSS JOIN LATERAL (SELECT (5000 + (c.id * 104729 %% 120) * 1000)::numeric(14, 2) AS amount) a
                """,
                params,
            )
            cur.execute(
                """
                INSERT INTO sales_payment (order_id, amount, received_on, confirmed_by_id, confirmed_at,
                                           reverse_reason)
                SELECT id, paid_amount, confirmed_on, %(finance)s,
                       confirmed_on::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '14 hours', ''
                FROM sales_order WHERE description = %(mark)s AND paid_amount > 0
                """,
                params,
            )
            # This month's plans (target 40, ten planned customers) and about thirty visits each.
            cur.execute(
                """
                INSERT INTO followups_visitplan (salesperson_id, month, target_count, set_by_id, created_at, updated_at)
                SELECT u.id, date_trunc('month', %(now)s AT TIME ZONE 'Asia/Shanghai')::date, 40, u.id, %(now)s,
                       %(now)s
                FROM accounts_user u WHERE u.username LIKE 'bench\\_sp%%'
                ON CONFLICT DO NOTHING
                """,
                params,
            )
            cur.execute(
                """
                INSERT INTO followups_visitplancustomer (plan_id, customer_id)
                SELECT p.id, c.id FROM followups_visitplan p
                CROSS JOIN LATERAL (SELECT id FROM customers_customer WHERE owner_id = p.salesperson_id
                                    ORDER BY id LIMIT 10) c
                ON CONFLICT DO NOTHING
                """
            )
            cur.execute(
                """
                INSERT INTO followups_visit (customer_id, salesperson_id, visited_at, channel, discussed,
                                             achievements, unsolved_problems, improvements_suggestions,
                                             created_at, updated_at)
                SELECT c.id, c.owner_id,
                       date_trunc('month', %(now)s AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
                           + (c.id %% 27) * interval '1 day' + interval '10 hours',
                       'visit', '介绍新产品', '', '', '', %(now)s, %(now)s
                FROM (SELECT id, owner_id, row_number() OVER (PARTITION BY owner_id ORDER BY id) AS k
                      FROM customers_customer WHERE owner_id IS NOT NULL) c
                WHERE c.k <= 30
                """,
                params,
            )
            # Service requests: two thousand open, a third of them overdue.
            cur.execute(
                """
                INSERT INTO service_servicerequest (customer_id, caller_name, caller_phone, caller_company, kind,
                                                    channel, text, responsible_id, department_id, status, outcome,
                                                    told_customer, standard_days, due_on, created_at)
                SELECT c.id, '', '', '', (ARRAY['visit', 'call', 'consultation', 'complaint'])[1 + c.id %% 4],
                       'phone', '咨询交期', c.owner_id, c.department_id, 'open', '', '', 1,
                       (%(now)s AT TIME ZONE 'Asia/Shanghai')::date + (c.id %% 3)::int - 1, %(now)s - interval '1 day'
                FROM (SELECT id, owner_id, department_id FROM customers_customer WHERE owner_id IS NOT NULL
                      ORDER BY id DESC LIMIT 2000) c
                """,
                params,
            )
            for table in ("sales_order", "sales_payment", "followups_visit", "service_servicerequest"):
                cur.execute(f"ANALYZE {table}")
        self.stdout.write(f"  loaded in {time.monotonic() - t0:.1f} s")

    # --- (c) Renders in process -----------------------------------------------------------------
    def _measure(self, runs: int, *, live: bool, pages: tuple[str, ...] = ()) -> list[dict]:
        with connection.cursor() as cur:  # fresh statistics (a migration may have filled a column since)
            for table in ("sales_order", "followups_visit", "service_servicerequest", "dashboard_customercount"):
                cur.execute(f"ANALYZE {table}")
        """Renders the pages in turn (pool, workbench, team, finance, pool, …) so that the load of
        this shared machine weighs on each alike; medians per page."""
        from accounts.models import User

        salesperson = (
            User.objects.filter(username__startswith="bench_sp", department__code="bench-sales-1")
            .order_by("username")
            .first()
        )
        cases = [
            ("pool", "/pool/", salesperson.username),
            ("workbench", "/", salesperson.username),
            ("team", "/", "bench_manager"),
            ("finance", "/", "bench_finance"),
        ]
        cases = [c for c in cases if not pages or c[0] in pages]
        clients = {}
        for key, _url, username in cases:
            clients[key] = Client()
            clients[key].force_login(User.objects.get(username=username))
        times: dict[str, list[float]] = {key: [] for key, _url, _user in cases}
        sizes: dict[str, int] = {}
        with override_settings(DEBUG=False):
            for _ in range(2):  # warm-up
                for key, url, _user in cases:
                    assert clients[key].get(url).status_code == 200, (key, url)
            for _ in range(runs):
                for key, url, _user in cases:
                    t0 = time.perf_counter()
                    response = clients[key].get(url)
                    times[key].append((time.perf_counter() - t0) * 1000)
                    sizes[key] = len(response.content) // 1024
            rows = []
            for key, url, username in cases:
                with CaptureQueriesContext(connection) as queries:
                    clients[key].get(url)
                rows.append(
                    {
                        "key": key,
                        "live": live,
                        "page": key + (" (live, no summary)" if live else ""),
                        "url": url,
                        "user": username,
                        "median": statistics.median(times[key]),
                        "min": min(times[key]),
                        "queries": len(queries),
                        "sql": sum(float(q["time"]) for q in queries.captured_queries) * 1000,
                        "size": sizes[key],
                    }
                )
                self.stdout.write(f"  {rows[-1]['page']}: {rows[-1]['median']:.0f} ms ({rows[-1]['queries']} queries)")
        return rows

    def _report(self, rows: list[dict]) -> None:
        lines = [
            "",
            f"Home pages at a million customers ({timezone.localtime(self.now):%Y-%m-%d %H:%M}, "
            f"PostgreSQL {connection.pg_version // 10000}, DEBUG off, in process through the test client):",
            "",
            "| page | user | median | fastest | / pool page | queries | SQL time | page size |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            # The yardstick: the pool page rendered in the same round.
            pool = next(p for p in rows if p["key"] == "pool" and p["live"] == r["live"])
            lines.append(
                f"| {r['page']} `{r['url']}` | {r['user']} | {r['median']:.0f} ms | {r['min']:.0f} ms | "
                f"{r['median'] / pool['median']:.2f}× | {r['queries']} | {r['sql']:.0f} ms | {r['size']} KB |"
            )
        self.stdout.write("\n".join(lines))
