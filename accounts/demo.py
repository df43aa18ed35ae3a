from django.contrib.auth.models import Group

from crm.demo import DEMO_PASSWORD, DemoContext, demo_step

from . import roles
from .models import Department, User

SALESPEOPLE = [
    ("zhangwei", "张伟", False),
    ("lina", "李娜", False),
    ("wangfang", "王芳", False),
    ("liuyang", "刘洋", False),
    ("chenhao", "陈浩", False),
    ("zhaolei", "赵磊", True),  # on probation
]


def _user(username: str, name: str, role: str, department: Department | None, **extra) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"display_name": name, "department": department, "email": f"{username}@demo.example.cn", **extra},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@demo_step(10)
def departments_and_users(ctx: DemoContext) -> None:
    dept2, _ = Department.objects.get_or_create(code="sales-2", defaults={"name": "销售二部"})
    dept1, _ = Department.objects.get_or_create(code="sales-1", defaults={"name": "销售一部"})
    salespeople = [_user(u, n, roles.SALESPERSON, dept2, is_probation=probation) for u, n, probation in SALESPEOPLE]
    other = [_user("sunli", "孙丽", roles.SALESPERSON, dept1), _user("zhoujie", "周杰", roles.SALESPERSON, dept1)]
    manager = _user("manager", "刘强", roles.MANAGER, dept2)
    manager1 = _user("manager1", "黄敏", roles.MANAGER, dept1)
    finance = _user("finance", "陈静", roles.FINANCE, None)
    _user("admin", "系统管理员", roles.ADMIN, None, is_staff=True, is_superuser=True)
    ctx.data.update(
        departments=[dept2, dept1],
        salespeople={dept2.pk: salespeople, dept1.pk: other},
        managers={dept2.pk: manager, dept1.pk: manager1},
        finance=finance,
        logins=[
            ("salesperson", "zhangwei"),
            ("salesperson (probation)", "zhaolei"),
            ("manager", "manager"),
            ("finance", "finance"),
            ("admin", "admin"),
        ],
    )
