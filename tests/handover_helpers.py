"""Builders for the handover tests (R7)."""

from datetime import date

from handovers import services
from handovers.models import Handover, HandoverItem

from .helpers import at

NOTE = services.NoteInput(
    situation="在谈明年的框架协议，对价格敏感",
    key_contacts="采购部钱经理 13500001111，拍板的是王总",
    stage="已报价，等对方内部审批",
    receivables_note="3 月的货款约定 4 月底前付清",
    promises="答应 5 月前安排一次工厂参观",
)


def open_resignation(leaver, manager, *, day: date, **kw) -> Handover:
    return services.handover_open(kind="resignation", leaver=leaver, manager=manager, now=at(day, 9), **kw)


def open_transfer(leaver, manager, customers, *, day: date, reason="position", **kw) -> Handover:
    return services.handover_open(
        kind="transfer",
        leaver=leaver,
        manager=manager,
        reason=reason,
        customer_ids=[c.pk for c in customers],
        now=at(day, 9),
        **kw,
    )


def items_of(handover: Handover) -> list[HandoverItem]:
    return list(HandoverItem.objects.filter(handover=handover).order_by("customer_id"))


def write_all_notes(handover: Handover, *, day: date) -> None:
    for item in items_of(handover):
        services.handover_write_note(item=item, user=handover.leaver, data=NOTE, now=at(day, 10))


def send_and_confirm(handover: Handover, manager, receiver, *, day: date) -> None:
    services.handover_send(
        handover=handover,
        manager=manager,
        item_ids=[i.pk for i in items_of(handover)],
        receiver=receiver,
        now=at(day, 11),
    )
    services.handover_confirm(handover=handover, user=receiver, now=at(day, 12))
