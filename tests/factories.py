"""factory_boy factories with Chinese data. Every user's password is DEFAULT_PASSWORD.

Examples: ``UserFactory(role="manager", department=dept)`` adds the "manager" group;
``CustomerFactory(department=dept, owner=user)``; ``ContactFactory(customer=customer)``.
"""

import random

import factory
from django.contrib.auth.models import Group

from accounts import roles
from accounts.models import Department, User
from customers.models import Contact, Customer, Industry, Source
from customers.validators import CREDIT_CODE_CHARSET, credit_code_check_char

DEFAULT_PASSWORD = "pass-1234-word"

CITIES = [
    ("广东省", "深圳市"),
    ("广东省", "广州市"),
    ("浙江省", "杭州市"),
    ("江苏省", "苏州市"),
    ("上海市", "上海市"),
    ("北京市", "北京市"),
    ("四川省", "成都市"),
    ("湖北省", "武汉市"),
]
REGION_CODES = ["440300", "440100", "330100", "320500", "310000", "110000", "510100", "420100"]
NAME_WORDS = ["华信", "恒通", "宏达", "鑫源", "瑞丰", "嘉禾", "中联", "远景", "天成", "博远"]
NAME_TRADES = ["科技", "电子", "机械", "贸易", "物流", "化工", "建设", "食品"]


def make_credit_code(rng: random.Random | None = None) -> str:
    """A valid 统一社会信用代码: "91" (enterprise), a region code, 9 organisation characters and
    the GB 32100-2015 check character."""
    rng = rng or random
    first17 = "91" + rng.choice(REGION_CODES) + "".join(rng.choice(CREDIT_CODE_CHARSET) for _ in range(9))
    return first17 + credit_code_check_char(first17)


def company_name(n: int) -> str:
    city = CITIES[n % len(CITIES)][1]
    return f"{city}{NAME_WORDS[n % len(NAME_WORDS)]}{NAME_TRADES[n % len(NAME_TRADES)]}第{n}有限公司"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"销售{n}部")
    code = factory.Sequence(lambda n: f"sales-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    """`role` is a group name from accounts.roles (or a list of them). The group is created if a
    transactional test's flush removed the one the migration made."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Faker("name", locale="zh_CN")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    department = factory.SubFactory(DepartmentFactory)
    is_probation = False

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs) -> None:
        obj.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def role(obj: User, create: bool, extracted: str | list[str] | tuple[str, ...] | None, **kwargs) -> None:
        if not extracted:
            return
        names = [extracted] if isinstance(extracted, str) else list(extracted)
        unknown = set(names) - set(roles.ALL_ROLES)
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}; use accounts.roles")
        if not create:
            return
        obj.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in names))
        obj.__dict__.pop("role_names", None)  # cached_property on the user


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(company_name)
    credit_code = factory.LazyFunction(make_credit_code)
    source = factory.Iterator([choice for choice, _ in Source.choices])
    industry = factory.Iterator([choice for choice, _ in Industry.choices])
    province = factory.Sequence(lambda n: CITIES[n % len(CITIES)][0])
    city = factory.Sequence(lambda n: CITIES[n % len(CITIES)][1])


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name", locale="zh_CN")
    position = "采购经理"
    phone = factory.Sequence(lambda n: f"138{n:08d}")
