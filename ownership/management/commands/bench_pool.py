"""Benchmark of the pool and the nightly job at scale (PostgreSQL only): `manage.py bench_pool`.

(a) loads a million customers with set-based SQL into a database whose name starts with
    "crm_bench" (never anything else), (b) times the real nightly_release() releasing ~100k of
    them and a second run the same day, (c) EXPLAIN (ANALYZE, BUFFERS) of the due-row lookup and
    of the pool page queries as the ORM builds them, (d) with --http, wrk against gunicorn, and
    (e) writes the figures to the "Latest run" section of docs/benchmarks.md.

    createdb -h 127.0.0.1 -U postgres crm_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench manage.py bench_pool --reset --keep
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import gcd
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

BENCH_DB_PREFIX = "crm_bench"
MAX_EXISTING_CUSTOMERS = 300
LATEST_HEADING = "## Latest run"
DOC_PATH = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
HTTP_PORT = 8099
PASSWORD = "bench-pool-password"  # a throwaway account in a throwaway database

# The tables the loader fills (and --reset truncates). Users and departments of the bench only
# exist in a crm_bench* database, so truncating them there is harmless.
BENCH_TABLES = (
    "customers_customer",
    "customers_contact",
    "customers_creditstatuschange",
    "ownership_ownershipevent",
    "ownership_releasenote",
    "ownership_missingreleasenote",
    "ownership_nightlyrun",
    "ownership_poolsettings",
    "notifications_notification",
    "django_session",
    "accounts_user_groups",
    "accounts_user_user_permissions",
    "accounts_user",
    "accounts_department",
)
# Tables whose secondary indexes are dropped during the load and rebuilt after it (in the same
# transaction, so an interrupted load leaves the schema as it was).
REINDEXED_TABLES = ("customers_customer", "customers_contact", "ownership_ownershipevent")

# --- Name pieces: city + 市 + brand + modifier + industry word + legal form -------------------
CITIES = [
    ("深圳", "广东", "440300"),
    ("广州", "广东", "440100"),
    ("东莞", "广东", "441900"),
    ("佛山", "广东", "440600"),
    ("珠海", "广东", "440400"),
    ("上海", "上海", "310000"),
    ("北京", "北京", "110000"),
    ("天津", "天津", "120000"),
    ("重庆", "重庆", "500000"),
    ("杭州", "浙江", "330100"),
    ("宁波", "浙江", "330200"),
    ("温州", "浙江", "330300"),
    ("苏州", "江苏", "320500"),
    ("南京", "江苏", "320100"),
    ("无锡", "江苏", "320200"),
    ("常州", "江苏", "320400"),
    ("成都", "四川", "510100"),
    ("武汉", "湖北", "420100"),
    ("长沙", "湖南", "430100"),
    ("西安", "陕西", "610100"),
    ("青岛", "山东", "370200"),
    ("济南", "山东", "370100"),
    ("烟台", "山东", "370600"),
    ("郑州", "河南", "410100"),
    ("合肥", "安徽", "340100"),
    ("福州", "福建", "350100"),
    ("厦门", "福建", "350200"),
    ("泉州", "福建", "350500"),
    ("南昌", "江西", "360100"),
    ("昆明", "云南", "530100"),
    ("贵阳", "贵州", "520100"),
    ("南宁", "广西", "450100"),
    ("沈阳", "辽宁", "210100"),
    ("大连", "辽宁", "210200"),
    ("哈尔滨", "黑龙江", "230100"),
    ("长春", "吉林", "220100"),
    ("石家庄", "河北", "130100"),
    ("太原", "山西", "140100"),
    ("兰州", "甘肃", "620100"),
    ("海口", "海南", "460100"),
]
# 20 x 10 two-character brands: 华为, 华通, 中兴 … as in real company names, 华为 is 1 in 200.
BRAND_FIRST = "华中新金恒宏东海天盛鑫永富长嘉瑞泰德安利"
BRAND_SECOND = "为通达源信兴远昌隆祥"
MODIFIERS = [
    *("创新", "智能", "精密", "国际", "环球", "联合", "天成", "博远", "汇丰", "卓越", "星辰", "启航", "锦程"),
    *("万象", "宏图", "明珠", "蓝海", "绿洲", "凯旋", "百川", "正道", "方圆", "云帆", "和美", "九州"),
]
INDUSTRY_WORDS = [
    ("机械制造", "manufacturing"),
    ("精工", "manufacturing"),
    ("电子", "electronics"),
    ("光电", "electronics"),
    ("软件", "software"),
    ("信息技术", "software"),
    ("建设工程", "construction"),
    ("建材", "construction"),
    ("商贸", "retail"),
    ("百货", "retail"),
    ("物流", "logistics"),
    ("供应链", "logistics"),
    ("食品", "food"),
    ("化工", "chemical"),
    ("医药", "medical"),
    ("新能源", "energy"),
    ("教育咨询", "education"),
    ("投资", "finance"),
    ("农业", "agriculture"),
    ("实业", "other"),
]
LEGAL_FORMS = ["有限公司", "股份有限公司", "有限责任公司"]
SOURCES = ["media", "agency", "association", "partner", "personal", "other"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "建华"]
POSITIONS = ["采购经理", "总经理", "财务主管", "行政主管", "技术总监", "采购专员"]
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _coprime_multiplier(modulus: int) -> int:
    """A multiplier near modulus x golden ratio, coprime with it: g -> g*m mod n is a bijection."""
    m = max(3, int(modulus * 0.6180339887))
    while gcd(m, modulus) != 1:
        m += 1
    return m


def _fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.2f} ms"


@dataclass
class Figures:
    """Everything measured, for the summary."""

    started: datetime = field(default_factory=timezone.now)
    argv: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    load_steps: list[tuple[str, float]] = field(default_factory=list)
    nightly: dict[str, object] = field(default_factory=dict)
    explains: list[dict] = field(default_factory=list)
    http: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Pool and nightly-job benchmark on PostgreSQL: loads N customers into a crm_bench* database, "
        "times the nightly release, EXPLAINs the pool queries, optionally runs wrk against gunicorn, "
        "and rewrites the 'Latest run' section of docs/benchmarks.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1_000_000)
        parser.add_argument("--due", type=int, default=100_000, help="customers whose deadline has passed tonight")
        parser.add_argument("--salespeople", type=int, default=200)
        parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True)
        parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per URL")
        parser.add_argument("--reset", action="store_true", help="truncate the bench tables of a crm_bench* database")
        parser.add_argument("--keep", action="store_true", help="keep the loaded data at the end (default: truncate)")
        parser.add_argument(
            "--reuse", action="store_true", help="skip loading and the nightly run: measure queries/HTTP on loaded data"
        )
        parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
        parser.add_argument("--load-only", action="store_true", help="load the data (implies --keep) and stop")

    # ------------------------------------------------------------------------------------------
    def handle(self, *args, **opts):
        self.opts = opts
        self.fig = Figures(argv="manage.py bench_pool " + " ".join(sys.argv[2:]))
        self._guard()
        n, due = opts["customers"], opts["due"]
        if n < 1000 or not (0 <= due <= int(n * 0.7)):
            raise CommandError("--customers must be >= 1000 and --due between 0 and 70% of --customers")
        if opts["salespeople"] < 2:
            raise CommandError("--salespeople must be at least 2")
        self.now = timezone.now()
        self.as_of = timezone.localdate(self.now)
        try:
            if opts["reuse"]:
                self._load_ids()
                self.fig.notes.append("--reuse: data loaded by an earlier run; load and nightly release skipped.")
            else:
                self._load()
                if opts["load_only"]:
                    opts["keep"] = True
                    return
                self._nightly()
            self._explain_all()
            if opts["http"]:
                self._http()
            self._count_rows()
            summary = self._summary()
            self.stdout.write("\n" + summary)
            if not opts["no_doc"]:
                self._write_doc(summary)
                self.stdout.write(self.style.SUCCESS(f"Wrote the 'Latest run' section of {DOC_PATH}"))
        finally:
            if not opts["keep"] and not opts["reuse"]:
                self._say("Truncating the bench tables (pass --keep to keep the data) …")
                self._truncate()

    # --- Safety ---------------------------------------------------------------------------------
    def _guard(self) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                f"bench_pool runs on PostgreSQL only (this database is {connection.vendor}). "
                "Use DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench"
            )
        name = connection.settings_dict["NAME"] or ""
        if not name.startswith(BENCH_DB_PREFIX):
            raise CommandError(
                f"Refusing to run on database {name!r}: bench_pool loads and truncates data, so it only runs on a "
                f"database whose name starts with {BENCH_DB_PREFIX!r} (createdb crm_bench; migrate; then run)."
            )
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM (SELECT 1 FROM customers_customer LIMIT %s) s", [MAX_EXISTING_CUSTOMERS + 1]
            )
            existing = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM accounts_user WHERE username LIKE 'bench\\_%%'")
            bench_users = cur.fetchone()[0]
        if self.opts["reuse"]:
            if not bench_users or existing <= MAX_EXISTING_CUSTOMERS:
                raise CommandError("--reuse needs data loaded by an earlier `bench_pool --keep`.")
            return
        if (existing > MAX_EXISTING_CUSTOMERS or bench_users) and not self.opts["reset"]:
            more = "more than " if existing > MAX_EXISTING_CUSTOMERS else ""
            raise CommandError(
                f"Database {name!r} already holds data ({more}{min(existing, MAX_EXISTING_CUSTOMERS)} customers, "
                f"{bench_users} bench users). Pass --reset to truncate it first, "
                "or --reuse to measure the data already loaded."
            )
        if self.opts["reset"]:
            self._say(f"--reset: truncating the bench tables of {name} …")
            self._truncate()

    def _truncate(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {', '.join(BENCH_TABLES)} RESTART IDENTITY CASCADE")

    # --- Output helpers -------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    @contextmanager
    def _step(self, label: str):
        self._say(f"  {label} …")
        t0 = time.monotonic()
        yield
        dt = time.monotonic() - t0
        self.fig.load_steps.append((label, dt))
        self._say(f"    {dt:.1f} s")

    # --- (a) Load -------------------------------------------------------------------------------
    def _load(self) -> None:
        n, due, n_sp = self.opts["customers"], self.opts["due"], self.opts["salespeople"]
        owned = max(due, round(n * 0.7))
        self._say(f"(a) Loading {n:,} customers ({owned:,} owned, {due:,} due before {self.as_of}) …")
        t_all = time.monotonic()
        n_d1 = max(1, n_sp - max(1, n_sp // 20))  # a second, small department gets 5 %
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cur.execute("SET LOCAL work_mem = '64MB'")
            cur.execute("SET LOCAL synchronous_commit = off")
            try:
                with transaction.atomic():
                    # No foreign-key triggers during the load: the generator keeps every reference
                    # valid by construction (superuser only; without it the load is just slower).
                    cur.execute("SET LOCAL session_replication_role = replica")
            except Exception:
                self.fig.notes.append("session_replication_role not settable: foreign keys checked during the load.")
            with self._step("departments and users"):
                self._load_people(cur, n_sp, n_d1)
            dropped = self._drop_indexes(cur)
            with self._step(f"{n:,} customers"):
                self._load_customers(cur, n, due, owned, n_d1)
            with self._step("contacts (1 or 2 per customer)"):
                self._load_contacts(cur)
            with self._step("release notes (a third of the due customers)"):
                cur.execute(
                    """
                    INSERT INTO ownership_releasenote
                        (customer_id, author_id, ownership_started, situation, contact_details,
                         communication_level, written_at, late)
                    SELECT id, owner_id, owned_since, '客户今年暂无采购计划，预计明年三月招标。',
                           '采购部负责人，电话见联系人。', '已拜访两次并报价，未成交。',
                           %(now)s - interval '3 days', false
                    FROM customers_customer
                    WHERE owner_id IS NOT NULL AND deadline < %(as_of)s AND id %% 3 = 0
                    """,
                    {"now": self.now, "as_of": self.as_of},
                )
            with self._step("ownership history"):
                self._load_history(cur)
            with self._step(f"rebuild {len(dropped)} secondary indexes"):
                for _name, ddl in dropped:
                    cur.execute(ddl)
        with self._step("VACUUM ANALYZE"), connection.cursor() as cur:
            for table in (*REINDEXED_TABLES, "ownership_releasenote", "accounts_user"):
                cur.execute(f"VACUUM (ANALYZE) {table}")
        total = time.monotonic() - t_all
        self.fig.load_steps.append(("total load", total))
        self._say(self.style.SUCCESS(f"  loaded in {total:.1f} s"))
        self._load_ids()

    def _load_people(self, cur, n_sp: int, n_d1: int) -> None:
        from django.contrib.auth.hashers import make_password

        cur.execute(
            "INSERT INTO accounts_department (name, code) VALUES ('销售一部（压测）', 'bench-sales-1'), "
            "('销售二部（压测）', 'bench-sales-2') RETURNING id"
        )
        self.d1, self.d2 = (r[0] for r in cur.fetchall())
        password = make_password(PASSWORD)
        cur.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                       is_active, date_joined, display_name, is_probation, department_id)
            SELECT %(pw)s, false, 'bench_sp' || lpad(i::text, 3, '0'), '', '', 'bench_sp' || i || '@example.com',
                   false, true, %(now)s - interval '2 years',
                   substr(%(surnames)s, 1 + i %% 20, 1) || (%(given)s::text[])[1 + i %% 18] || i,
                   i %% 10 = 0, CASE WHEN i <= %(n_d1)s THEN %(d1)s ELSE %(d2)s END
            FROM generate_series(1, %(n_sp)s) AS i
            ORDER BY i
            """,
            {
                "pw": password,
                "now": self.now,
                "surnames": SURNAMES,
                "given": GIVEN,
                "n_d1": n_d1,
                "n_sp": n_sp,
                "d1": self.d1,
                "d2": self.d2,
            },
        )
        cur.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined, display_name, is_probation, department_id) VALUES "
            "(%s, false, 'bench_manager', '', '', 'bench_manager@example.com', false, true, %s, '周经理', false, %s) "
            "RETURNING id",
            [password, self.now, self.d1],
        )
        self.manager_id = cur.fetchone()[0]
        for role in ("salesperson", "manager"):
            cur.execute("INSERT INTO auth_group (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", [role])
        cur.execute(
            "INSERT INTO accounts_user_groups (user_id, group_id) "
            "SELECT u.id, g.id FROM accounts_user u, auth_group g "
            "WHERE u.username LIKE 'bench\\_sp%%' AND g.name = 'salesperson' "
            "UNION ALL SELECT %s, id FROM auth_group WHERE name = 'manager'",
            [self.manager_id],
        )
        cur.execute(
            "INSERT INTO ownership_poolsettings (max_unsold, max_unsold_probation, daily_claim_cap, "
            "reclaim_cooloff_days, warning_days, mask_pool_contacts, updated_at, department_id) "
            "VALUES (200, 50, 20, 30, 7, true, %(now)s, %(d1)s), (200, 50, 20, 30, 7, true, %(now)s, %(d2)s)",
            {"now": self.now, "d1": self.d1, "d2": self.d2},
        )
        cur.execute("SELECT id FROM accounts_user WHERE username LIKE 'bench\\_sp%%' ORDER BY username")
        self.sp_ids = [r[0] for r in cur.fetchall()]

    def _drop_indexes(self, cur) -> list[tuple[str, str]]:
        """Secondary (non-constraint) indexes of the big tables, dropped for the load and rebuilt
        afterwards from their own definitions, within the load's transaction."""
        cur.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = ANY(%s) AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
            ORDER BY t.relname, i.relname
            """,
            [list(REINDEXED_TABLES)],
        )
        dropped = cur.fetchall()
        for name, _ddl in dropped:
            cur.execute(f'DROP INDEX "{name}"')
        return dropped

    def _load_customers(self, cur, n: int, due: int, owned: int, n_d1: int) -> None:
        n_city, n_brand = len(CITIES), len(BRAND_FIRST) * len(BRAND_SECOND)
        n_mod, n_ind, n_form = len(MODIFIERS), len(INDUSTRY_WORDS), len(LEGAL_FORMS)
        name_space = n_city * n_brand * n_mod * n_ind * n_form
        params = {
            "n": n,
            "due": due,
            "owned": owned,
            "n_sp": len(self.sp_ids),
            "n_d1": n_d1,
            "d1": self.d1,
            "d2": self.d2,
            "now": self.now,
            "as_of": self.as_of,
            "perm_mul": _coprime_multiplier(n),
            "name_mul": _coprime_multiplier(name_space),
            "name_space": name_space,
            "n_city": n_city,
            "div_brand": n_city,
            "n_brand": n_brand,
            "div_mod": n_city * n_brand,
            "n_mod": n_mod,
            "div_ind": n_city * n_brand * n_mod,
            "n_ind": n_ind,
            "div_form": n_city * n_brand * n_mod * n_ind,
            "n_form": n_form,
            "cities": [c[0] for c in CITIES],
            "provinces": [c[1] for c in CITIES],
            "regions": [c[2] for c in CITIES],
            "brands": [a + b for a in BRAND_FIRST for b in BRAND_SECOND],
            "mods": MODIFIERS,
            "ind_words": [w for w, _ in INDUSTRY_WORDS],
            "ind_codes": [c for _, c in INDUSTRY_WORDS],
            "forms": LEGAL_FORMS,
            "sources": SOURCES,
            "sp_ids": self.sp_ids,
            "manager": self.manager_id,
            "charset": CREDIT_CHARSET,
        }
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            """
            INSERT INTO customers_customer (
                name, name_key, name_near_key, credit_code, industry, province, city, address, source, source_detail,
                is_long_term, credit_status, credit_note, notes, tier, tier_amount,
                owner_id, owner_basis, owned_since, deadline, sold_in_ownership, deadline_extended,
                warned_for_deadline, introduced_by, last_sale_on, is_problem, problem_reason,
                released_at, release_reason, released_from_id, last_contact_at,
                created_by_id, department_id, created_at, updated_at)
            SELECT
                z.name, z.name, z.near_key, z.credit_code, z.industry, z.province, z.city, z.address, z.source, '',
                z.tier = 'vip', z.credit_status, '', '', z.tier, z.tier_amount,
                z.owner_id, z.owner_basis, z.owned_since, z.deadline, z.sold, false,
                CASE WHEN z.deadline <= %(as_of)s::date + 6 THEN z.deadline END,
                CASE WHEN z.owner_basis = 'relationship' THEN '周经理介绍（老客户）' ELSE '' END,
                z.last_sale_on, z.release_reason = 'problem',
                CASE WHEN z.release_reason = 'problem' THEN '多次拖欠货款，财务标记为问题客户' ELSE '' END,
                z.released_at, z.release_reason, z.released_from_id, z.last_contact_at,
                coalesce(z.owner_id, z.released_from_id), z.department_id, z.created_at, %(now)s
            FROM (
                SELECT y.*,
                    (p.cities)[y.ci + 1] || '市' || (p.brands)[y.bi + 1] || (p.mods)[y.mi + 1]
                        || (p.ind_words)[y.ii + 1] || (p.forms)[y.fi + 1] AS name,
                    -- about customers.validators.company_near_key of that name: no 市, no legal form
                    (p.cities)[y.ci + 1] || (p.brands)[y.bi + 1] || (p.mods)[y.mi + 1]
                        || (p.ind_words)[y.ii + 1] AS near_key,
                    (p.cities)[y.ci + 1] AS city,
                    (p.provinces)[y.ci + 1] AS province,
                    (p.ind_codes)[y.ii + 1] AS industry,
                    (p.cities)[y.ci + 1] || '市高新区科技园路' || (1 + y.g %% 300) || '号' AS address,
                    (p.sources)[1 + floor(y.r9 * 6)::int] AS source,
                    CASE WHEN y.g %% 12 = 0 THEN NULL
                         ELSE '91' || (p.regions)[y.ci + 1]
                              || lpad(((y.g * 387420489) %% 1000000000)::text, 9, '0')
                              || substr(%(charset)s, 1 + (y.g %% 31)::int, 1) END AS credit_code,
                    CASE WHEN y.kind <> 'pool' THEN (p.sp_ids)[y.sp_idx + 1] END AS owner_id,
                    CASE WHEN y.kind = 'pool' THEN ''
                         WHEN y.sold THEN 'first_order'
                         WHEN y.r7 < 0.5 THEN 'first_inquiry'
                         WHEN y.r7 < 0.75 THEN 'claimed'
                         WHEN y.r7 < 0.9 THEN 'assigned'
                         ELSE 'relationship' END AS owner_basis,
                    CASE WHEN y.kind = 'pool' THEN NULL
                         WHEN y.sold THEN (y.deadline - interval '3 months')::date - floor(y.r6 * 365)::int
                         ELSE (y.deadline - interval '2 months')::date END AS owned_since,
                    CASE WHEN y.kind <> 'pool' AND y.sold THEN (y.deadline - interval '3 months')::date
                         WHEN y.r6 < 0.15 THEN %(as_of)s::date - 200 - floor(y.r7 * 400)::int END AS last_sale_on,
                    CASE WHEN y.kind = 'pool' THEN %(now)s - y.r3 * interval '730 days' END AS released_at,
                    CASE WHEN y.release_reason IN ('no_deal', 'no_sale', 'problem', 'voluntary', 'handover')
                         THEN (p.sp_ids)[y.sp_idx + 1] END AS released_from_id,
                    CASE WHEN y.sp_idx < %(n_d1)s THEN %(d1)s ELSE %(d2)s END AS department_id,
                    CASE y.tier WHEN 'c' THEN round((y.r8 * 30000)::numeric, 2)
                                WHEN 'b' THEN round((30000 + y.r8 * 20000)::numeric, 2)
                                WHEN 'a' THEN round((50000 + y.r8 * 50000)::numeric, 2)
                                ELSE round((100000 + y.r8 * 400000)::numeric, 2) END AS tier_amount,
                    CASE WHEN y.r10 < 0.90 THEN 'good' WHEN y.r10 < 0.97 THEN 'watch' ELSE 'bad' END AS credit_status,
                    %(now)s - y.r8 * interval '120 days' AS last_contact_at,
                    %(now)s - (500 + y.r10 * 1500) * interval '1 day' AS created_at
                FROM (
                    SELECT x.*,
                        CASE x.kind WHEN 'due' THEN %(as_of)s::date - 1 - floor(x.r3 * 30)::int
                                    WHEN 'owned' THEN %(as_of)s::date + floor(x.r3 * 90)::int END AS deadline,
                        x.kind <> 'pool' AND x.r2 < 0.3 AS sold,
                        CASE WHEN x.kind <> 'pool' THEN ''
                             WHEN x.r4 < 0.40 THEN 'no_deal'
                             WHEN x.r4 < 0.55 THEN 'no_sale'
                             WHEN x.r4 < 0.60 THEN 'problem'
                             WHEN x.r4 < 0.70 THEN 'voluntary'
                             WHEN x.r4 < 0.75 THEN 'handover'
                             WHEN x.r4 < 0.95 THEN 'imported'
                             ELSE 'registered' END AS release_reason,
                        CASE WHEN x.r5 < 0.60 THEN 'c' WHEN x.r5 < 0.80 THEN 'b' WHEN x.r5 < 0.92 THEN 'a'
                             WHEN x.r5 < 0.97 THEN 'vip' ELSE 'special_vip' END AS tier
                    FROM (
                        SELECT s.*,
                            CASE WHEN s.perm < %(due)s THEN 'due' WHEN s.perm < %(owned)s THEN 'owned'
                                 ELSE 'pool' END AS kind,
                            least(floor(s.r1 * %(n_sp)s)::int, %(n_sp)s - 1) AS sp_idx,
                            (s.u %% %(n_city)s)::int AS ci,
                            ((s.u / %(div_brand)s) %% %(n_brand)s)::int AS bi,
                            ((s.u / %(div_mod)s) %% %(n_mod)s)::int AS mi,
                            ((s.u / %(div_ind)s) %% %(n_ind)s)::int AS ii,
                            ((s.u / %(div_form)s) %% %(n_form)s)::int AS fi
                        FROM (
                            SELECT g, ((g - 1) * %(perm_mul)s) %% %(n)s AS perm,
                                   ((g - 1) * %(name_mul)s) %% %(name_space)s AS u,
                                   random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                                   random() AS r6, random() AS r7, random() AS r8, random() AS r9, random() AS r10
                            FROM generate_series(1::bigint, %(n)s::bigint) AS g
                        ) s
                    ) x
                ) y,
                (SELECT %(cities)s::text[] AS cities, %(provinces)s::text[] AS provinces,
                        %(regions)s::text[] AS regions, %(brands)s::text[] AS brands, %(mods)s::text[] AS mods,
                        %(ind_words)s::text[] AS ind_words, %(ind_codes)s::text[] AS ind_codes,
                        %(forms)s::text[] AS forms, %(sources)s::text[] AS sources,
                        %(sp_ids)s::bigint[] AS sp_ids) p
            ) z
            """,
            params,
        )

    def _load_contacts(self, cur) -> None:
        cur.execute(
            """
            INSERT INTO customers_contact
                (name, position, phone, phone_digits, email, wechat, is_primary, created_at, customer_id)
            SELECT substr(%(surnames)s, 1 + ((c.id + k) %% 20)::int, 1)
                       || (%(given)s::text[])[1 + ((c.id * k) %% 18)::int],
                   (%(positions)s::text[])[1 + ((c.id + k) %% 6)::int],
                   substr(d.digits, 1, 3) || '-' || substr(d.digits, 4, 4) || '-' || substr(d.digits, 8, 4),
                   d.digits,
                   CASE WHEN k = 1 AND c.id %% 3 = 0 THEN 'contact' || c.id || '@example.com' ELSE '' END,
                   '', k = 1, c.created_at, c.id
            FROM customers_customer c
            CROSS JOIN LATERAL generate_series(1, 1 + (c.id %% 2)::int) AS k
            CROSS JOIN LATERAL (
                SELECT '1' || substr('3456789', 1 + ((c.id + k) %% 7)::int, 1)
                       || lpad((((c.id * 2 + k) * 387420489) %% 1000000000)::text, 9, '0') AS digits
            ) d
            """,
            {"surnames": SURNAMES, "given": GIVEN, "positions": POSITIONS},
        )

    def _load_history(self, cur) -> None:
        cur.execute(
            """
            INSERT INTO ownership_ownershipevent
                (customer_id, action, from_owner_id, to_owner_id, basis, reason, actor_id, rule, note,
                 deadline, release_note_id, at)
            SELECT id,
                   CASE owner_basis WHEN 'first_inquiry' THEN 'registered' ELSE owner_basis END,
                   NULL::bigint, owner_id, owner_basis, '',
                   CASE WHEN owner_basis IN ('assigned', 'relationship') THEN %(manager)s::bigint
                        WHEN owner_basis = 'first_order' THEN NULL ELSE owner_id END,
                   CASE WHEN owner_basis = 'first_order' THEN 'R5.3' ELSE '' END, '', deadline, NULL::bigint,
                   (owned_since + time '10:00') AT TIME ZONE 'Asia/Shanghai'
            FROM customers_customer WHERE owner_id IS NOT NULL
            UNION ALL
            SELECT id, 'claimed', NULL, released_from_id, 'claimed', '', released_from_id, '', '', NULL, NULL,
                   released_at - interval '75 days'
            FROM customers_customer WHERE owner_id IS NULL AND released_from_id IS NOT NULL
            UNION ALL
            SELECT id, CASE WHEN release_reason = 'problem' THEN 'problem' ELSE 'released' END,
                   released_from_id, NULL, '', release_reason,
                   CASE WHEN release_reason IN ('no_deal', 'no_sale') THEN NULL
                        WHEN release_reason = 'voluntary' THEN released_from_id ELSE %(manager)s END,
                   CASE release_reason WHEN 'no_deal' THEN 'R5.2' WHEN 'no_sale' THEN 'R5.4' ELSE '' END,
                   '', NULL, NULL, released_at
            FROM customers_customer WHERE owner_id IS NULL AND released_from_id IS NOT NULL
            """,
            {"manager": self.manager_id},
        )

    def _load_ids(self) -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM accounts_department WHERE code IN ('bench-sales-1', 'bench-sales-2') ORDER BY code"
            )
            self.d1, self.d2 = (r[0] for r in cur.fetchall())
            cur.execute("SELECT id FROM accounts_user WHERE username LIKE 'bench\\_sp%%' ORDER BY username")
            self.sp_ids = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT id FROM accounts_user WHERE username = 'bench_manager'")
            self.manager_id = cur.fetchone()[0]

    def _count_rows(self) -> None:
        with connection.cursor() as cur:
            for table, label in (
                ("customers_customer", "customers"),
                ("customers_contact", "contacts"),
                ("ownership_ownershipevent", "history rows"),
                ("ownership_releasenote", "release notes"),
                ("ownership_missingreleasenote", "missing-note items"),
            ):
                cur.execute(f"SELECT count(*) FROM {table}")
                self.fig.counts[label] = cur.fetchone()[0]
            cur.execute(
                "SELECT count(*) FILTER (WHERE owner_id IS NULL), count(*) FILTER (WHERE owner_id IS NOT NULL) "
                "FROM customers_customer"
            )
            self.fig.counts["in the pool"], self.fig.counts["owned"] = cur.fetchone()
            cur.execute("SELECT pg_size_pretty(pg_total_relation_size('customers_customer'))")
            self.fig.notes.append(f"customers_customer with its indexes: {cur.fetchone()[0]}.")

    # --- (b) Nightly release ------------------------------------------------------------------
    def _nightly(self) -> None:
        from ownership.nightly import nightly_release

        self._say(f"(b) nightly_release(as_of={self.as_of}) …")
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM customers_customer WHERE owner_id IS NOT NULL AND deadline < %s", [self.as_of]
            )
            expected = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM ownership_ownershipevent")
            events_before = cur.fetchone()[0]
        # Digest e-mails go to the dummy backend: the console backend would print 200 of them here.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            t0 = time.monotonic()
            result = nightly_release(as_of=self.as_of, now=self.now, triggered_by="bench_pool")
            first_s = time.monotonic() - t0
        run = result.run
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*), count(DISTINCT customer_id), count(release_note_id) FROM ownership_ownershipevent "
                "WHERE action = 'released' AND at = %s",
                [self.now],
            )
            history, distinct, with_note = cur.fetchone()
            cur.execute(
                """
                SELECT count(*) FROM customers_customer c
                WHERE c.released_at = %(now)s AND c.release_reason IN ('no_deal', 'no_sale')
                  AND (SELECT count(*) FROM ownership_ownershipevent e
                       WHERE e.customer_id = c.id AND e.action = 'released' AND e.at = %(now)s) <> 1
                """,
                {"now": self.now},
            )
            not_exactly_one = cur.fetchone()[0]
            cur.execute(
                "SELECT count(*) FROM customers_customer WHERE owner_id IS NOT NULL AND deadline < %s", [self.as_of]
            )
            still_due = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM ownership_missingreleasenote WHERE released_at = %s", [self.now])
            missing = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM ownership_ownershipevent")
            events_mid = cur.fetchone()[0]

        now2 = self.now + timedelta(minutes=5)
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            t0 = time.monotonic()
            result2 = nightly_release(as_of=self.as_of, now=now2, triggered_by="bench_pool (rerun)")
            second_s = time.monotonic() - t0
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM customers_customer WHERE updated_at = %s", [now2])
            changed2 = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM ownership_ownershipevent")
            events_after = cur.fetchone()[0]
        # The machine's floor, in this run: one UPDATE touching the same 100k scattered rows (with
        # every index of the table), rolled back. Absolute times drift between runs on these shared
        # machines; the ratio nightly / floor says what the release itself costs.
        with transaction.atomic(), connection.cursor() as cur:
            t0 = time.monotonic()
            cur.execute(
                "UPDATE customers_customer SET updated_at = updated_at + interval '1 second' "
                "WHERE released_at = %s AND release_reason IN ('no_deal', 'no_sale')",
                [self.now],
            )
            touched = cur.rowcount
            floor_s = time.monotonic() - t0
            transaction.set_rollback(True)
        self.fig.nightly = {
            "floor_s": floor_s,
            "floor_rows": touched,
            "expected": expected,
            "released": run.released,
            "no_deal": run.released_no_deal,
            "no_sale": run.released_no_sale,
            "history": history,
            "history_distinct": distinct,
            "history_with_note": with_note,
            "history_added": events_mid - events_before,
            "not_exactly_one": not_exactly_one,
            "still_due": still_due,
            "missing_notes": missing,
            "warned": run.warned,
            "first_s": first_s,
            "first_inner_ms": run.duration_ms,
            "second_released": result2.run.released,
            "second_warned": result2.run.warned,
            "second_changed": changed2,
            "second_history_added": events_after - events_mid,
            "second_ms": second_s * 1000,
            "second_skipped": result2.run.skipped,
        }
        ok = (
            run.released == expected == history == distinct == events_mid - events_before
            and not_exactly_one == 0
            and still_due == 0
            and result2.run.released == 0
            and changed2 == 0
            and events_after == events_mid
        )
        self.fig.nightly["ok"] = ok
        self._say(
            f"  released {run.released:,} (expected {expected:,}; {run.released_no_deal:,} R5.2, "
            f"{run.released_no_sale:,} R5.4), {history:,} history rows ({distinct:,} customers, "
            f"{not_exactly_one} without exactly one), {missing:,} missing-note items, warned {run.warned:,}: "
            f"{first_s:.2f} s (commit included; {run.duration_ms} ms inside the transaction)"
        )
        self._say(
            f"  second run the same day: released {result2.run.released}, warned {result2.run.warned}, "
            f"{changed2} customers changed, {events_after - events_mid} history rows: {second_s * 1000:.0f} ms"
        )
        self._say(
            f"  floor: one UPDATE touching the same {touched:,} rows (rolled back): {floor_s:.2f} s; "
            f"release / floor = {first_s / max(floor_s, 0.001):.1f}x"
        )
        self._say(self.style.SUCCESS("  checks passed") if ok else self.style.ERROR("  CHECKS FAILED"))

    # --- (c) EXPLAIN --------------------------------------------------------------------------
    def _salesperson(self):
        from accounts.models import User

        return User.objects.get(pk=self.sp_ids[0])

    def _pool_qs(self, user, params: dict):
        """The pool page's queryset as the view builds it (PoolFilter when it exists)."""
        from ownership.selectors import pool_visible_to

        base = pool_visible_to(user)
        try:
            from ownership.forms import PoolFilter
        except ImportError:
            PoolFilter = None
        if PoolFilter is not None:
            form = PoolFilter(params or None, user=user)
            if params and not form.is_valid():
                raise CommandError(f"PoolFilter rejected {params}: {form.errors.as_text()}")
            return form.filter(base), "PoolFilter"
        from customers.services import customer_search_q

        qs = base
        for key, value in params.items():
            if key == "q":
                qs = qs.filter(customer_search_q(value, user=user))
            elif key == "is_problem":
                qs = qs.filter(is_problem=value == "yes")
            elif key == "released_from":
                qs = qs.filter(released_at__date__gte=value)
            elif key == "released_to":
                qs = qs.filter(released_at__date__lte=value)
            else:
                qs = qs.filter(**{key: value})
        return qs.order_by("-released_at", "-id"), "hand-built filters"

    def _explain_all(self) -> None:
        from customers.models import Customer

        self._say("(c) EXPLAIN (ANALYZE, BUFFERS) …")
        sp = self._salesperson()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT c.credit_code, k.phone_digits FROM customers_customer c "
                "JOIN customers_contact k ON k.customer_id = c.id "
                "WHERE c.owner_id IS NULL AND c.department_id = %s AND c.credit_code IS NOT NULL "
                "ORDER BY c.id LIMIT 1 OFFSET 5000",
                [self.d1],
            )
            code, digits = cur.fetchone()
        since = (self.as_of - timedelta(days=90)).isoformat()
        due_cols = ("id", "owner_id", "owned_since", "deadline", "sold_in_ownership")
        due = Customer.objects.filter(owner__isnull=False, handover_ref__isnull=True)
        cases = [
            (
                "Due rows, ordinary night (tonight, after the release: none due)",
                due.filter(deadline__lt=self.as_of).values_list(*due_cols),
                "partial index on (deadline) WHERE owner_id IS NOT NULL AND handover_ref IS NULL (cust_owned_deadline)",
            ),
            (
                "Due rows, tomorrow night (one day of deadlines)",
                due.filter(deadline__lt=self.as_of + timedelta(days=1)).values_list(*due_cols),
                "cust_owned_deadline",
            ),
            ("Pool page, no filter", {}, "cust_pool_recent (department_id, released_at DESC, id DESC)"),
            ("Pool page, tier = A", {"tier": "a"}, "cust_pool_tier"),
            ("Pool page, city = 深圳", {"city": "深圳"}, "cust_pool_city"),
            ("Pool page, industry = software", {"industry": "software"}, "cust_pool_industry"),
            (
                "Pool page, reason = no deal + released in the last 90 days",
                {"release_reason": "no_deal", "released_from": since},
                "cust_pool_reason",
            ),
            ("Pool page, problem customers", {"is_problem": "yes"}, "cust_pool_problem"),
            (
                "Pool page, tier A + city 深圳 + source agency (combined)",
                {"tier": "a", "city": "深圳", "source": "agency"},
                "a composite partial index on the combination",
            ),
            ("Pool search q=华为 (2-character name substring)", {"q": "华为"}, "cust_name_bigrams (GIN)"),
            ("Pool search q=腾讯 (no match)", {"q": "腾讯"}, "cust_name_bigrams (GIN)"),
            (f"Pool search q={digits[:7]} (phone digits prefix)", {"q": digits[:7]}, "phone_digits btree"),
            (f"Pool search q={code[:12]} (credit code prefix)", {"q": code[:12]}, "credit_code LIKE index"),
            (f"Pool search q={code[:8]} (credit code region prefix)", {"q": code[:8]}, "credit_code LIKE index"),
        ]
        for label, spec, expected_index in cases:
            if isinstance(spec, dict):
                qs, how = self._pool_qs(sp, spec)
                page_qs = qs[:26]
                count_qs = qs.order_by()[:1001]
            else:
                page_qs, how, count_qs = spec, "ORM", None
            self.fig.explains.append(self._explain(label, page_qs, count_qs, expected_index, how))

    def _explain(self, label: str, qs, count_qs, expected_index: str, how: str) -> dict:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = '120s'")
            qs.explain(analyze=True)  # warm the cache once
            plan = qs.explain(analyze=True, buffers=True)
            walls = []
            deadline = time.monotonic() + 10
            for _ in range(5):
                t0 = time.monotonic()
                list(qs.all())  # a fresh queryset each time: no result cache
                walls.append((time.monotonic() - t0) * 1000)
                if time.monotonic() > deadline:
                    break
            count_ms = None
            if count_qs is not None:
                t0 = time.monotonic()
                count_qs.all().count()
                count_ms = (time.monotonic() - t0) * 1000
        exec_ms = float(m.group(1)) if (m := re.search(r"Execution Time: ([\d.]+) ms", plan)) else None
        rows = int(m.group(1)) if (m := re.search(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+)", plan)) else None
        indexes = sorted(
            set(re.findall(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)", plan))
        )
        seq = re.findall(r"Seq Scan on (\w+)", plan)
        buffers = m.group(0) if (m := re.search(r"Buffers: [^\n]+", plan)) else ""
        entry = {
            "label": label,
            "exec_ms": exec_ms,
            "wall_ms": statistics.median(walls),
            "count_ms": count_ms,
            "rows": rows,
            "indexes": indexes,
            "seq": seq,
            "buffers": buffers.replace("Buffers: ", ""),
            "expected": expected_index,
            "plan": plan,
            "how": how,
        }
        flag = f" SEQ SCAN on {', '.join(seq)}" if seq else ""
        self._say(
            f"  {label}: {_fmt_ms(exec_ms)} (wall {_fmt_ms(entry['wall_ms'])}"
            f"{', capped count ' + _fmt_ms(count_ms) if count_ms is not None else ''}), "
            f"indexes {', '.join(indexes) or 'none'}{flag}"
        )
        return entry

    # --- (d) HTTP -----------------------------------------------------------------------------
    def _http(self) -> None:
        self._say("(d) HTTP: gunicorn -w 2 + wrk -t2 -c16 …")
        wrk = shutil.which("wrk")
        gunicorn = Path(sys.executable).parent / "gunicorn"
        if not wrk or not gunicorn.exists():
            self.fig.notes.append(f"HTTP skipped: wrk={wrk}, gunicorn={gunicorn.exists()}.")
            return
        try:
            from django.urls import reverse

            reverse("ownership:pool")
            has_pool = True
        except Exception:
            has_pool = False
            self.fig.notes.append("HTTP: the pool view (ownership:pool) does not exist yet; /pool/ paths skipped.")
        cookie = self._session_cookie()
        base = f"http://127.0.0.1:{HTTP_PORT}"
        paths = [("/healthz", "trivial view (healthz: SELECT 1)")]
        if has_pool:
            paths += [
                ("/pool/", "pool page, default"),
                ("/pool/?tier=a", "pool page, tier = A"),
                ("/pool/?q=" + urllib.parse.quote("华为"), "pool page, search 华为"),
            ]
        paths.append(("/customers/mine/", "my customers (~3,500 owned)"))
        db = connection.settings_dict
        auth = urllib.parse.quote(db["USER"] or "postgres")
        if db.get("PASSWORD"):
            auth += ":" + urllib.parse.quote(db["PASSWORD"])
        env = dict(
            os.environ,
            DATABASE_URL=f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            DJANGO_DEBUG="false",
            ALLOWED_HOSTS="127.0.0.1",
            CONN_MAX_AGE="60",
            LOG_LEVEL="WARNING",
        )
        log_path = Path("/tmp") / f"bench_pool_gunicorn_{os.getpid()}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(gunicorn), "crm.wsgi", "-w", "2", "-b", f"127.0.0.1:{HTTP_PORT}", "--timeout", "60"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_up(base + "/healthz", proc, log_path)
            for path, label in paths:
                status, size, ms = self._get(base + path, cookie)
                if status != 200:
                    self.fig.notes.append(f"HTTP {path} answered {status}; not benchmarked.")
                    self._say(self.style.ERROR(f"  {path}: HTTP {status}, skipped"))
                    continue
                self._say(f"  {path}: 200, {size:,} bytes, first request {ms:.0f} ms; wrk {self.opts['duration']} s …")
                res = self._wrk(wrk, base + path, cookie)
                res.update(path=urllib.parse.unquote(path), label=label, bytes=size)
                self.fig.http.append(res)
                self._say(
                    f"    {res['rps']:.0f} req/s, p50 {_fmt_ms(res.get('p50'))}, p99 {_fmt_ms(res.get('p99'))}"
                    f"{', errors: ' + res['errors'] if res.get('errors') else ''}"
                )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            self._say(f"  gunicorn stopped (log: {log_path})")

    def _session_cookie(self) -> str:
        """A logged-in session of the first salesperson, made the way django.contrib.auth.login does."""
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        user = self._salesperson()
        store = SessionStore()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"

    def _wait_up(self, url: str, proc: subprocess.Popen, log_path: Path) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CommandError(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise CommandError(f"gunicorn did not answer {url} within 30 s; see {log_path}")

    def _get(self, url: str, cookie: str) -> tuple[int, int, float]:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        req = urllib.request.Request(url, headers={"Cookie": cookie})
        t0 = time.monotonic()
        try:
            with opener.open(req, timeout=60) as resp:
                body = resp.read()
                return resp.status, len(body), (time.monotonic() - t0) * 1000
        except urllib.error.HTTPError as exc:
            return exc.code, 0, (time.monotonic() - t0) * 1000

    def _wrk(self, wrk: str, url: str, cookie: str) -> dict:
        duration = self.opts["duration"]
        cmd = [wrk, "-t2", "-c16", f"-d{duration}s", "--latency", "--timeout", "10s", "-H", f"Cookie: {cookie}", url]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False).stdout
        res: dict = {"raw": out}

        def to_ms(value: str, unit: str) -> float:
            return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

        for pct in ("50", "75", "90", "99"):
            if m := re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M):
                res[f"p{pct}"] = to_ms(*m.groups())
        res["rps"] = float(m.group(1)) if (m := re.search(r"Requests/sec:\s+([\d.]+)", out)) else 0.0
        res["requests"] = int(m.group(1)) if (m := re.search(r"(\d+) requests in", out)) else 0
        errors = []
        if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
            errors.append(f"{m.group(1)} non-2xx/3xx")
        if m := re.search(r"Socket errors: ([^\n]+)", out):
            errors.append("socket " + m.group(1).strip())
        res["errors"] = "; ".join(errors)
        return res

    # --- (e) Summary --------------------------------------------------------------------------
    def _summary(self) -> str:
        f = self.fig
        local = timezone.localtime(f.started)
        cpu = os.cpu_count()
        lines = [
            LATEST_HEADING,
            "",
            f"{local:%Y-%m-%d %H:%M} Asia/Shanghai · {cpu} cores · {self._pg_version()} · Python "
            f"{platform.python_version()} · database `{connection.settings_dict['NAME']}` · as-of {self.as_of}",
            "",
            f"Command: `{f.argv}`",
            "",
        ]
        if f.counts:
            lines += ["Data: " + ", ".join(f"{v:,} {k}" for k, v in f.counts.items()) + ".", ""]
        if f.load_steps:
            lines += ["### (a) Load (set-based SQL, one transaction, indexes rebuilt after)", "", "| step | time |"]
            lines += ["|---|---|"] + [f"| {label} | {sec:.1f} s |" for label, sec in f.load_steps] + [""]
        if f.nightly:
            nt = f.nightly
            lines += [
                "### (b) Nightly release (`ownership.nightly.nightly_release`, PostgreSQL path)",
                "",
                "| | figure |",
                "|---|---|",
                f"| due before the run | {nt['expected']:,} |",
                f"| released | {nt['released']:,} ({nt['no_deal']:,} R5.2 no deal, {nt['no_sale']:,} R5.4 no sale) |",
                f"| history rows written | {nt['history']:,} for {nt['history_distinct']:,} customers "
                f"({nt['not_exactly_one']} customers without exactly one; {nt['history_with_note']:,} link a note) |",
                f"| missing release-note items (R7.3) | {nt['missing_notes']:,} |",
                f"| warned (R5.10) | {nt['warned']:,} |",
                f"| still due after the run | {nt['still_due']} |",
                f"| **duration, commit included** | **{nt['first_s']:.2f} s** "
                f"({nt['first_inner_ms']:,} ms before commit) |",
                f"| floor in this run: one `UPDATE` touching the same {nt['floor_rows']:,} rows, rolled back "
                f"| {nt['floor_s']:.2f} s (release / floor = {nt['first_s'] / max(nt['floor_s'], 0.001):.1f}×) |",
                f"| second run the same day | released {nt['second_released']}, warned {nt['second_warned']}, "
                f"{nt['second_changed']} customers changed, {nt['second_history_added']} history rows: "
                f"**{nt['second_ms']:.0f} ms** |",
                f"| checks | {'passed' if nt['ok'] else '**FAILED**'} |",
                "",
            ]
        if f.explains:
            lines += [
                "### (c) Queries (EXPLAIN ANALYZE, BUFFERS; warm cache; the pool page is `LIMIT 26` as the view asks)",
                "",
                "| query | execution | wall (median of 5) | capped count (≤1001) | rows | indexes used | seq scan |",
                "|---|---|---|---|---|---|---|",
            ]
            for e in f.explains:
                lines.append(
                    f"| {e['label']} | {_fmt_ms(e['exec_ms'])} | {_fmt_ms(e['wall_ms'])} | {_fmt_ms(e['count_ms'])} | "
                    f"{e['rows'] if e['rows'] is not None else '–'} | {', '.join(e['indexes']) or '–'} | "
                    f"{'**' + ', '.join(e['seq']) + '**' if e['seq'] else 'no'} |"
                )
            hows = sorted({e["how"] for e in f.explains})
            lines += ["", f"Pool querysets built by: {', '.join(hows)} on `pool_visible_to(salesperson)`.", ""]
        if f.http:
            base = next((h for h in f.http if h["path"] == "/healthz"), None)
            lines += [
                "### (d) HTTP (gunicorn sync -w 2, CONN_MAX_AGE=60, DEBUG off; "
                f"wrk -t2 -c16 -d{self.opts['duration']}s --latency, logged-in salesperson)",
                "",
                "| path | req/s | p50 | p90 | p99 | trivial/this req/s | this/trivial p50 | page size | errors |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for h in f.http:
                ratio_rps = f"{base['rps'] / h['rps']:.1f}×" if base and h["rps"] else "–"
                ratio_p50 = f"{h['p50'] / base['p50']:.1f}×" if base and h.get("p50") and base.get("p50") else "–"
                lines.append(
                    f"| `{h['path']}` | {h['rps']:.0f} | {_fmt_ms(h.get('p50'))} | {_fmt_ms(h.get('p90'))} | "
                    f"{_fmt_ms(h.get('p99'))} | {ratio_rps} | {ratio_p50} | {h['bytes'] / 1024:.0f} KB | "
                    f"{h['errors'] or '–'} |"
                )
            lines.append("")
        lines += self._comparison()
        if f.notes:
            lines += ["### Notes", ""] + [f"- {n}" for n in f.notes] + [""]
        if f.explains:
            lines += ["<details><summary>Query plans</summary>", ""]
            for e in f.explains:
                lines += [f"#### {e['label']}", "", "```", e["plan"], "```", ""]
            lines += ["</details>", ""]
        return "\n".join(lines)

    def _comparison(self) -> list[str]:
        """Against /work/shared/PERFORMANCE.md (same class of machine; compare ratios, not absolutes)."""
        f = self.fig
        rows = []
        nt = f.nightly
        if nt:
            rows.append(
                (
                    "nightly release of ~100k, set-based",
                    "2.1–3.8 s for 100,558",
                    f"{nt['first_s']:.2f} s for {nt['released']:,}",
                    None if nt["released"] < 50_000 else nt["first_s"] <= 3.8 * nt["released"] / 100_558 * 1.5,
                )
            )
        by_label = {e["label"]: e for e in f.explains}
        ordinary = next((e for k, e in by_label.items() if k.startswith("Due rows, ordinary")), None)
        if ordinary:
            rows.append(
                (
                    "tonight's due rows on an ordinary night",
                    "0.06 ms (partial index); 146 ms by seq scan",
                    _fmt_ms(ordinary["exec_ms"]),
                    not ordinary["seq"] and (ordinary["exec_ms"] or 0) < 5,
                )
            )
        pool = [e for k, e in by_label.items() if k.startswith("Pool page")]
        if pool:
            worst = max(pool, key=lambda e: e["exec_ms"] or 0)
            rows.append(
                (
                    "pool query alone (one filter + sort)",
                    "0.1–7 ms; 37 ms for three filters without a composite index",
                    f"{_fmt_ms(min(e['exec_ms'] or 0 for e in pool))}–{_fmt_ms(worst['exec_ms'])} "
                    f"(worst: {worst['label'].removeprefix('Pool page, ')})",
                    (worst["exec_ms"] or 0) < 40,
                )
            )
        search = next((e for k, e in by_label.items() if "华为" in k), None)
        if search:
            rows.append(
                (
                    "name search, 2 characters, index used",
                    "2.5–7 ms (1.2 s when the index is not used)",
                    _fmt_ms(search["exec_ms"]),
                    (search["exec_ms"] or 0) < 20 and not search["seq"],
                )
            )
        http = {h["path"]: h for h in f.http}
        trivial, page = http.get("/healthz"), http.get("/pool/")
        if trivial:
            rows.append(
                (
                    "trivial Django view",
                    "≈ 3,900 req/s, p50 3.8 ms",
                    f"{trivial['rps']:,.0f} req/s, p50 {_fmt_ms(trivial.get('p50'))}",
                    None,
                )
            )
        if page:
            rows.append(
                (
                    "pool page, no COUNT",
                    "≈ 370 req/s, p50 42 ms, p99 60 ms",
                    f"{page['rps']:,.0f} req/s, p50 {_fmt_ms(page.get('p50'))}, p99 {_fmt_ms(page.get('p99'))}",
                    None,
                )
            )
        if trivial and page and page["rps"]:
            ratio = trivial["rps"] / page["rps"]
            rows.append(
                (
                    "ratio trivial / pool page (req/s)",
                    "≈ 10.5× without COUNT, ≈ 24× with the paginator's COUNT",
                    f"{ratio:.1f}×",
                    ratio <= 14,
                )
            )
        q = http.get("/pool/?q=华为")
        if trivial and q and q["rps"]:
            rows.append(
                (
                    "ratio trivial / pool search 华为 (req/s)",
                    "≈ 66× with a trigram index on upper(name) (59 req/s)",
                    f"{trivial['rps'] / q['rps']:.1f}× ({q['rps']:,.0f} req/s)",
                    trivial["rps"] / q["rps"] <= 20,
                )
            )
        if not rows:
            return []
        out = [
            "### Against the limits in PERFORMANCE.md",
            "",
            "| path | PERFORMANCE.md | this run | within |",
            "|---|---|---|---|",
        ]
        for name, ref, ours, ok in rows:
            out.append(f"| {name} | {ref} | {ours} | {'–' if ok is None else ('yes' if ok else '**no**')} |")
        return [*out, ""]

    def _pg_version(self) -> str:
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            return "PostgreSQL " + cur.fetchone()[0].split()[0]

    def _write_doc(self, summary: str) -> None:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        head = ""
        if DOC_PATH.exists():
            text = DOC_PATH.read_text(encoding="utf-8")
            idx = text.find("\n" + LATEST_HEADING)
            head = text[: idx + 1] if idx >= 0 else (text if not text.startswith(LATEST_HEADING) else "")
        if not head.strip():
            head = "# Benchmarks\n\n"
        DOC_PATH.write_text(head.rstrip("\n") + "\n\n" + summary.rstrip("\n") + "\n", encoding="utf-8")
