"""Demo customers with a believable past: registered, claimed, assigned, released by the nightly
rules, marked as problems, all through the real services at past moments, so the history,
release log, missing notes and warnings look like a department's last half year."""

import contextlib
from datetime import datetime, time, timedelta

from django.utils import timezone

from crm.dates import local_today
from crm.demo import DemoContext, demo_step
from customers.models import Customer, Industry, Source
from customers.services import DuplicateCustomer, SimilarCustomers
from customers.validators import CREDIT_CODE_CHARSET, credit_code_check_char
from notifications.models import Notification

from . import services
from .models import ReleaseNote
from .nightly import nightly_release

CITIES = [
    ("广东省", "深圳市", "440300"),
    ("广东省", "广州市", "440100"),
    ("广东省", "东莞市", "441900"),
    ("浙江省", "杭州市", "330100"),
    ("浙江省", "宁波市", "330200"),
    ("江苏省", "苏州市", "320500"),
    ("江苏省", "南京市", "320100"),
    ("上海市", "上海市", "310000"),
    ("北京市", "北京市", "110000"),
    ("四川省", "成都市", "510100"),
    ("湖北省", "武汉市", "420100"),
    ("山东省", "青岛市", "370200"),
    ("福建省", "厦门市", "350200"),
    ("天津市", "天津市", "120000"),
]
BRANDS = [
    "华信",
    "恒通",
    "宏达",
    "鑫源",
    "瑞丰",
    "嘉禾",
    "中联",
    "远景",
    "天成",
    "博远",
    "金桥",
    "海纳",
    "德润",
    "启明",
    "新锐",
    "汇丰",
    "盛达",
    "永安",
    "长城",
    "星河",
    "锦程",
    "东方",
    "大业",
    "同创",
    "明德",
    "华美",
    "正泰",
    "安信",
    "凯盛",
    "龙腾",
    "宝丰",
    "万通",
    "联创",
    "信达",
    "富源",
    "华为",
    "国泰",
    "光明",
    "聚力",
    "蓝海",
]
TRADES = [
    ("电子科技", Industry.ELECTRONICS),
    ("精密机械", Industry.MANUFACTURING),
    ("智能装备", Industry.MANUFACTURING),
    ("软件技术", Industry.SOFTWARE),
    ("信息技术", Industry.SOFTWARE),
    ("建筑工程", Industry.CONSTRUCTION),
    ("商贸", Industry.RETAIL),
    ("供应链管理", Industry.LOGISTICS),
    ("物流", Industry.LOGISTICS),
    ("食品", Industry.FOOD),
    ("化工", Industry.CHEMICAL),
    ("医疗器械", Industry.MEDICAL),
    ("新能源", Industry.ENERGY),
    ("教育科技", Industry.EDUCATION),
    ("农业发展", Industry.AGRICULTURE),
]
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
TITLES = ["采购经理", "总经理", "采购主管", "副总经理", "财务经理", "技术总监", "行政主管"]
SITUATIONS = [
    ("客户今年预算已用完，明年一季度再议", "采购经理王先生 13800001111", "已报价两次，对方认可方案但无预算"),
    ("对方已与竞争对手签订年度框架协议", "总经理办公室 0755-26001234", "只到采购层面，未接触决策人"),
    ("需求不明确，暂无合作意向", "行政主管 李女士 微信 li_xz", "初次拜访，介绍了公司产品"),
]
PROBLEM_REASONS = ["多次拖欠货款，超过账期90天", "提供虚假资质材料", "恶意压价并泄露报价"]


def _credit_code(ctx: DemoContext, region: str) -> str:
    first17 = "91" + region + "".join(ctx.rng.choice(CREDIT_CODE_CHARSET) for _ in range(9))
    return first17 + credit_code_check_char(first17)


def _person(ctx: DemoContext) -> str:
    return ctx.rng.choice(SURNAMES) + "".join(ctx.rng.choice(GIVEN) for _ in range(ctx.rng.choice((1, 2))))


def _company(ctx: DemoContext, used: set[str]) -> tuple[dict, dict]:
    while True:
        province, city, region = ctx.rng.choice(CITIES)
        trade, industry = ctx.rng.choice(TRADES)
        name = f"{city}{ctx.rng.choice(BRANDS)}{trade}{ctx.rng.choice(SUFFIXES)}"
        if name not in used:
            used.add(name)
            break
    data = {
        "name": name,
        "credit_code": _credit_code(ctx, region),
        "industry": industry,
        "province": province,
        "city": city,
        "address": f"{city}{ctx.rng.choice(['高新区', '经开区', '工业园', '中心区'])}{ctx.rng.randint(1, 999)}号",
        "source": ctx.rng.choice(Source.values),
        "is_long_term": ctx.rng.random() < 0.4,
    }
    person = _person(ctx)
    phone = f"1{ctx.rng.choice('3456789')}{ctx.rng.randint(0, 999999999):09d}"
    contact = {
        "name": person,
        "position": ctx.rng.choice(TITLES),
        "phone": phone,
        "email": f"{phone[-6:]}@{ctx.rng.choice(['163.com', 'qq.com', 'sina.com'])}" if ctx.rng.random() < 0.6 else "",
        "wechat": f"wx_{phone[-8:]}" if ctx.rng.random() < 0.5 else "",
        "is_primary": True,
    }
    return data, contact


def _at(day, hour=10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=timezone.get_current_timezone())


@demo_step(30)
def customers_and_pool(ctx: DemoContext) -> None:
    if Customer.objects.filter(department__code="sales-2").exists():
        ctx.log("  customers already seeded; nothing added")
        return
    today = local_today()
    start = today - timedelta(days=200)
    rng = ctx.rng
    used: set[str] = set()
    plans: list[tuple] = []  # (day, kind, department, payload)
    for dept in ctx.data["departments"]:
        people = ctx.data["salespeople"][dept.pk]
        count = 240 if dept.code == "sales-2" else 60
        for _ in range(count):
            day = start + timedelta(days=rng.randint(0, 199))
            r = rng.random()
            kind = "register" if r < 0.62 else "pool" if r < 0.9 else "relationship"
            plans.append((day, kind, dept, rng.choice(people), _company(ctx, used)))
    plans.sort(key=lambda p: p[0])
    created: list[tuple[Customer, object]] = []
    day = start
    i = 0
    while day <= today:
        nightly_release(as_of=day, now=_at(day, 1), triggered_by="seed_demo")
        while i < len(plans) and plans[i][0] == day:
            _day, kind, dept, person, (data, contact) = plans[i]
            i += 1
            manager = ctx.data["managers"][dept.pk]
            try:
                if kind == "register":
                    c = services.customer_register(data=data, contacts=[contact], user=person, now=_at(day))
                else:
                    c = services.customer_register(data=data, contacts=[contact], user=manager, now=_at(day))
                    if kind == "relationship":
                        services.customer_assign(
                            customer=c,
                            manager=manager,
                            to_user=person,
                            introduced_by=f"{manager}的朋友{_person(ctx)}",
                            now=_at(day, 11),
                        )
            except (DuplicateCustomer, SimilarCustomers):
                continue
            created.append((c, dept))
        _daily_activity(ctx, day, created)
        # Higher apps' demo steps (orders, visits) act on the same days, in order.
        for hook in ctx.data.get("daily_hooks", []):
            hook(ctx, day, created)
        day += timedelta(days=1)
    Notification.objects.filter(created_at__lt=timezone.now() - timedelta(days=3)).update(read_at=timezone.now())
    ctx.log(
        f"  {Customer.objects.count()} customers, {Customer.objects.filter(owner__isnull=True).count()} in the pools"
    )


def _daily_activity(ctx: DemoContext, day, created) -> None:
    """A few claims, release notes and problem marks each day, as a department would."""
    rng = ctx.rng
    for c, dept in rng.sample(created, min(len(created), 3)):
        c.refresh_from_db()
        people = ctx.data["salespeople"][dept.pk]
        if c.owner_id is None and rng.random() < 0.35:
            with contextlib.suppress(services.DomainError):  # a limit refused it, as it would in life
                services.customer_claim(customer=c, user=rng.choice(people), now=_at(day, 15))
        elif c.owner_id and c.deadline and (c.deadline - day).days < 10 and rng.random() < 0.6:
            situation, contacts, level = rng.choice(SITUATIONS)
            if not ReleaseNote.objects.filter(
                customer=c, author_id=c.owner_id, ownership_started=c.owned_since
            ).exists():
                services.release_note_write(
                    customer=c,
                    user=c.owner,
                    situation=situation,
                    contact_details=contacts,
                    communication_level=level,
                    now=_at(day, 17),
                )
        elif c.owner_id and rng.random() < 0.02:
            services.customer_mark_problem(
                customer=c, user=ctx.data["managers"][dept.pk], reason=rng.choice(PROBLEM_REASONS), now=_at(day, 16)
            )
