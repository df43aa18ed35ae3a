"""R5.12: whoever looks at (and then claims) a pool customer sees why it entered the pool, the
release note of the ownership that ended, and the whole ownership history."""

from datetime import date

import pytest
from django.urls import reverse

from ownership import services
from ownership.nightly import nightly_release

from .helpers import at, owned_customer

pytestmark = pytest.mark.django_db


def test_r5_12_pool_card_and_claimers_page_show_reason_note_and_history(client_for, owner, teammate):
    c = owned_customer(owner, since=date(2026, 1, 10))
    services.release_note_write(
        customer=c,
        user=owner,
        situation="客户明年扩建新厂房",
        contact_details="采购部赵经理",
        communication_level="已做两次技术交流",
    )
    nightly_release(as_of=date(2026, 3, 11), now=at(date(2026, 3, 11), 1))
    url = reverse("customers:detail", args=[c.pk])

    before = client_for(teammate).get(url).content.decode()
    assert "客户明年扩建新厂房" in before  # the release note
    assert "2个月内未成交" in before  # why it entered the pool, in plain words (no rule id)
    assert "R5.2" not in before
    assert "2026-03-11" in before  # when

    services.customer_claim(customer=c, user=teammate)
    after = client_for(teammate).get(url).content.decode()
    assert "客户明年扩建新厂房" in after
    assert "采购部赵经理" in after  # contact details unmasked once claimed
    # The whole history: the original ownership's release and the claim.
    assert "2个月内未成交" in after and "张伟" in after and "李娜" in after
    # The release was the rule's own act: its history row links to the rule on the rules page.
    assert 'href="/rules/#deal-deadline"' in after


def test_r5_12_the_card_shows_the_last_releases_note_not_an_older_one(owner, department):
    """X wrote a note and released the customer; later X owned it again and the nightly job
    released it without a note: the card has no note for that last release, not January's."""
    from customers.models import Customer
    from ownership.selectors import last_release_note

    from .helpers import pool_customer, reload

    c = pool_customer(department)
    services.customer_claim(customer=c, user=owner, now=at(date(2026, 1, 5)))
    services.release_note_write(
        customer=reload(c), user=owner, situation="一月的说明", contact_details="—", communication_level="初次接触"
    )
    services.customer_release(customer=reload(c), user=owner, now=at(date(2026, 1, 20)))
    assert last_release_note(reload(c)).situation == "一月的说明"

    Customer.objects.filter(pk=c.pk).update(released_at=None)  # past the cool-off: X claims again
    services.customer_claim(customer=reload(c), user=owner, now=at(date(2026, 3, 1)))
    nightly_release(as_of=date(2026, 5, 2), now=at(date(2026, 5, 2), 1))
    assert reload(c).owner is None
    assert last_release_note(reload(c)) is None
    services.release_note_write(  # the late note (R7.3) is the last release's
        customer=reload(c), user=owner, situation="五月补写", contact_details="—", communication_level="已报价"
    )
    assert last_release_note(reload(c)).situation == "五月补写"
