"""The service demo step (order 40) runs on the demo users and customers, and a second run adds nothing."""

from datetime import timedelta

import pytest

from crm.dates import local_today
from crm.demo import DemoContext
from service.demo import service_requests
from service.models import RequestStatus, ServiceRequest

from .helpers import owned_customer

pytestmark = pytest.mark.django_db


def test_demo_step(owner, teammate, manager, department):
    for person in (owner, teammate):
        for _ in range(4):
            owned_customer(person, since=local_today() - timedelta(days=20))
    ctx = DemoContext(log=lambda msg: None)
    ctx.data.update(
        departments=[department], salespeople={department.pk: [owner, teammate]}, managers={department.pk: manager}
    )
    service_requests(ctx)
    count = ServiceRequest.objects.count()
    assert count == 9
    assert ServiceRequest.objects.filter(status=RequestStatus.CLOSED).exists()
    assert ServiceRequest.objects.filter(status=RequestStatus.OPEN).exists()
    service_requests(ctx)
    assert ServiceRequest.objects.count() == count
