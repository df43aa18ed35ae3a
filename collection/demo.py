"""Demo collection data: one finished import of a fair's visitor list into the pool, a published
information report with linked customers, and a draft with task assignments. Adds nothing when run
again."""

import csv
import io
import random
from datetime import timedelta

from django.utils import timezone

from accounts import roles
from accounts.models import Department, User
from crm.demo import DemoContext, demo_step
from customers.models import Customer
from customers.validators import CREDIT_CODE_CHARSET, credit_code_check_char

from . import services
from .models import ImportBatch, InfoReport

IMPORT_FILE = "2026深圳国际电子展-采购商名录.csv"
PUBLISHED_TITLE = "华南新能源汽车零部件采购需求调研"
DRAFT_TITLE = "长三角医疗器械经销商摸底"


def _code(rng: random.Random) -> str:
    first17 = "91440300" + "".join(rng.choice(CREDIT_CODE_CHARSET) for _ in range(9))
    return first17 + credit_code_check_char(first17)


def _fair_list(rng: random.Random) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["企业名称", "统一社会信用代码", "所属行业", "城市", "联系人", "手机", "邮箱", "地址"])
    names = ["深圳市澜海电子", "东莞市恒启精密", "惠州市德赛新材", "深圳市博纳光电", "广州市粤辰智能", "珠海市汇锦电气"]
    for i, name in enumerate(names):
        writer.writerow(
            [
                f"{name}有限公司",
                _code(rng),
                "电子" if i % 2 == 0 else "制造",
                "深圳市",
                ["陈先生", "林女士", "黄经理", "吴工", "郑总", "何经理"][i],
                f"1371234{5600 + i:04d}",
                "",
                "宝安区会展中心",
            ]
        )
    writer.writerow(["", "", "", "深圳市", "无名", "", "", ""])  # rejected: empty name
    writer.writerow([f"{names[0]}有限公司", "", "", "", "", "", "", ""])  # rejected: duplicate inside the file
    return out.getvalue().encode("gbk")


@demo_step(40)
def collection_demo(ctx: DemoContext) -> None:
    department = Department.objects.filter(code="sales-2").first()
    if department is None:
        return
    manager = User.objects.filter(department=department, groups__name=roles.MANAGER).order_by("pk").first()
    salespeople = list(
        User.objects.filter(department=department, groups__name=roles.SALESPERSON, is_active=True).order_by("pk")[:3]
    )
    if manager is None or len(salespeople) < 2:
        return
    rng = random.Random(40)
    now = timezone.now()
    if not ImportBatch.objects.filter(department=department, file_name=IMPORT_FILE).exists():
        batch = services.import_upload(
            user=manager,
            file_name=IMPORT_FILE,
            data=_fair_list(rng),
            source="media",
            source_detail="2026 深圳国际电子展",
            now=now - timedelta(days=3),
        )
        batch = services.import_check(batch=batch, user=manager, mapping=batch.mapping, now=now - timedelta(days=3))
        if batch.new_count:
            services.import_start(batch=batch, user=manager, now=now - timedelta(days=3))
        ctx.log(f"    import: {IMPORT_FILE}")
    if not InfoReport.objects.filter(department=department, title=PUBLISHED_TITLE).exists():
        report = services.report_create(
            user=manager,
            data={
                "title": PUBLISHED_TITLE,
                "category": "新能源",
                "information_needed": "华南地区电池包、电机电控厂商的采购规模、采购周期与现有供应商。",
                "work_plan": "两周内：展会名录梳理、电话摸底 30 家、重点客户上门 5 家。",
            },
            now=now - timedelta(days=20),
        )
        assignments = [
            ("电话摸底深圳、东莞 15 家", "15 家中 6 家计划三季度扩产，关注交期与本地化服务。"),
            ("走访惠州、广州重点客户", "3 家电池包厂在评估第二供应商，要求提供样品与质量体系证书。"),
        ]
        for days, (person, (text, findings)) in enumerate(zip(salespeople, assignments, strict=False)):
            task = services.report_task_add(
                report=report, user=manager, assignee=person, text=text, now=now - timedelta(days=19)
            )
            services.task_findings_save(task=task, user=person, findings=findings, now=now - timedelta(days=9 - days))
        for customer in Customer.objects.filter(department=department, owner__isnull=True).order_by("pk")[:3]:
            services.report_link_customer(report=report, user=manager, customer=customer)
        services.report_update(
            report=report,
            user=manager,
            data={
                "title": PUBLISHED_TITLE,
                "category": "新能源",
                "information_needed": report.information_needed,
                "work_plan": report.work_plan,
                "summary": "共摸底 32 家，9 家有明确采购计划，集中在结构件与线束；交期要求 15 天内。",
                "needs_direction": "轻量化结构件与高压线束需求上升，建议重点跟进有扩产计划的 9 家。",
            },
        )
        services.report_publish(report=report, user=manager, now=now - timedelta(days=5))
        draft = services.report_create(
            user=manager,
            data={
                "title": DRAFT_TITLE,
                "category": "医疗",
                "information_needed": "上海、苏州、杭州医疗器械经销商名单及代理品类。",
                "work_plan": "协会名录 + 电话摸底，下周五前汇总。",
            },
        )
        for person in salespeople[:2]:
            services.report_task_add(report=draft, user=manager, assignee=person, text="电话摸底协会名录前 20 家")
        ctx.log("    information reports: 1 published, 1 draft")
