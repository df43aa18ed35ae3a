"""The nightly job (docs/rules.md "The nightly job"): R5.2 and R5.4 releases, R7.3 missing notes and
R5.10 warnings as of a date, set-based so that 100,000 releases out of a million take seconds.

Idempotent (released rows no longer match), catching up (every deadline before the as-of date
matches, however many nights were missed) and exclusive (a PostgreSQL advisory lock: a second
simultaneous run records itself as skipped and changes nothing).
"""

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from crm.dates import local_today, start_of_local_day
from customers.models import Customer, ReleaseReason
from notifications.services import Message, notify_many

from .models import Action, MissingReleaseNote, NightlyRun, OwnershipEvent, PoolSettings, ReleaseNote, Rule
from .selectors import NIGHTLY_HOUR

LOCK_KEY = "crm.ownership.nightly_release"

# Further nightly steps of higher apps (R2.1 tier recomputation in sales), registered in their
# AppConfig.ready(): fn(*, as_of, now, dry_run) -> number of customers whose tier changed. They
# run inside the same locked transaction, after the releases.
NightlyStep = Callable[..., int]
_extra_steps: dict[str, NightlyStep] = {}


def register_nightly_step(name: str, fn: NightlyStep) -> None:
    _extra_steps[name] = fn


DEFAULT_WARNING_DAYS = PoolSettings._meta.get_field("warning_days").default


@dataclass
class OwnerTally:
    no_deal: int = 0
    no_sale: int = 0
    missing_notes: int = 0
    warned: int = 0


@dataclass
class NightlyResult:
    run: NightlyRun
    per_owner: dict[int, OwnerTally] = field(default_factory=dict)
    owner_names: dict[int, str] = field(default_factory=dict)


def nightly_release(
    *, as_of: date | None = None, dry_run: bool = False, triggered_by: str = "schedule", now: datetime | None = None
) -> NightlyResult:
    # A run given its clock (the demo's replay, catch-ups by hand in tests) stamps its finish on
    # that clock too: the real one would make it finish months after it started.
    clock_given = now is not None
    now = now or timezone.now()
    as_of = as_of or local_today(now)
    started = time.monotonic()
    run = NightlyRun(as_of=as_of, started_at=now, dry_run=dry_run, triggered_by=triggered_by[:40])
    result = NightlyResult(run=run)
    with transaction.atomic():
        if not _try_lock():
            run.skipped = True
        elif dry_run:
            _dry_run(as_of, result)
        else:
            if connection.vendor == "postgresql":
                _release_postgresql(as_of, now, result)
            else:
                _release_portable(as_of, now, result)
            _warn(as_of, now, result)
        if not run.skipped:
            for step in _extra_steps.values():
                run.tiers_changed += step(as_of=as_of, now=now, dry_run=dry_run)
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.finished_at = now + timedelta(milliseconds=run.duration_ms) if clock_given else timezone.now()
        run.save()
    result.owner_names = {
        u.pk: str(u)
        for u in User.objects.filter(pk__in=result.per_owner.keys()).only(
            "pk", "username", "display_name", "first_name", "last_name"
        )
    }
    return result


def release_moment(as_of: date, now: datetime) -> datetime:
    """When a run's releases happened, for the customer row, its history and the cool-off (R5.8).
    A run on its as-of day (or ahead of it) releases now. A catch-up run for an earlier as-of day
    (run late, or by hand with --as-of) releases as of that day's run at 01:00: running it late
    must not push the previous owner's cool-off back. A customer whose history already holds a
    later moment is released at that moment instead, so its history stays in order."""
    if local_today(now) <= as_of:
        return now
    return min(now, start_of_local_day(as_of) + timedelta(hours=NIGHTLY_HOUR))


def _try_lock() -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _tally(result: NightlyResult, owner_id: int) -> OwnerTally:
    return result.per_owner.setdefault(owner_id, OwnerTally())


def _count_release(result: NightlyResult, owner_id: int, reason: str, n: int, missing: int) -> None:
    t = _tally(result, owner_id)
    if reason == ReleaseReason.NO_SALE:
        t.no_sale += n
        result.run.released_no_sale += n
    else:
        t.no_deal += n
        result.run.released_no_deal += n
    t.missing_notes += missing
    result.run.missing_notes += missing


_RELEASE_SQL = """
WITH due AS (
    SELECT c.id, c.owner_id, c.owned_since, c.deadline,
           CASE WHEN c.sold_in_ownership THEN 'no_sale' ELSE 'no_deal' END AS reason
    FROM customers_customer c
    WHERE c.owner_id IS NOT NULL AND c.deadline < %(as_of)s
      AND c.handover_ref IS NULL  -- R7: an open handover holds it (the partial index says so too)
    FOR NO KEY UPDATE OF c
), released AS (
    UPDATE customers_customer c
    SET owner_id = NULL, owner_basis = '', owned_since = NULL, deadline = NULL,
        sold_in_ownership = false, deadline_extended = false, warned_for_deadline = NULL,
        introduced_by = '', release_reason = due.reason,
        released_at = CASE WHEN %(catch_up)s THEN GREATEST(
            %(stamp)s, (SELECT max(e.at) FROM ownership_ownershipevent e WHERE e.customer_id = c.id)
        ) ELSE %(stamp)s END,
        released_from_id = due.owner_id, next_follow_up_on = NULL, updated_at = %(now)s
    FROM due
    WHERE c.id = due.id
    RETURNING c.id, due.owner_id, due.owned_since, due.deadline, due.reason, c.released_at
), noted AS (
    SELECT r.*, n.id AS note_id
    FROM released r
    LEFT JOIN ownership_releasenote n
      ON n.customer_id = r.id AND n.author_id = r.owner_id AND n.ownership_started = r.owned_since
), history AS (
    INSERT INTO ownership_ownershipevent
        (customer_id, action, from_owner_id, to_owner_id, basis, reason, actor_id, rule, note,
         deadline, release_note_id, at)
    SELECT id, 'released', owner_id, NULL, '', reason, NULL,
           CASE WHEN reason = 'no_sale' THEN 'R5.4' ELSE 'R5.2' END, '', deadline, note_id, released_at
    FROM noted
    RETURNING 1
), missing AS (
    INSERT INTO ownership_missingreleasenote
        (customer_id, former_owner_id, ownership_started, released_at, reason)
    SELECT id, owner_id, owned_since, released_at, reason FROM noted WHERE note_id IS NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT owner_id, reason, count(*), count(*) FILTER (WHERE note_id IS NULL),
       (SELECT count(*) FROM history), (SELECT count(*) FROM missing)
FROM noted
GROUP BY owner_id, reason
"""


def _release_postgresql(as_of: date, now: datetime, result: NightlyResult) -> None:
    """One statement: lock the due rows, release them, write one history row each and the
    missing-note items, and report counts per former owner."""
    stamp = release_moment(as_of, now)
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, {"as_of": as_of, "now": now, "stamp": stamp, "catch_up": stamp != now})
        rows = cursor.fetchall()
    for owner_id, reason, n, missing, _h, _m in rows:
        _count_release(result, owner_id, reason, n, missing)
    _notify_released(result, now)


def _due(as_of: date):
    # R7: customers held by an open handover are never released (the deadline index excludes them).
    return Customer.objects.filter(owner__isnull=False, handover_ref__isnull=True, deadline__lt=as_of)


def _release_portable(as_of: date, now: datetime, result: NightlyResult) -> None:
    """The same release for databases without data-modifying CTEs (SQLite in development),
    in bulk statements rather than a loop of saves."""
    rows = list(
        _due(as_of)
        .select_for_update(no_key=True)
        .values_list("id", "owner_id", "owned_since", "deadline", "sold_in_ownership")
    )
    if not rows:
        return
    stamp = release_moment(as_of, now)
    moments = dict.fromkeys((r[0] for r in rows), stamp)
    if stamp != now:
        latest = (
            OwnershipEvent.objects.filter(customer_id__in=list(moments))
            .values("customer_id")
            .annotate(m=Max("at"))
            .values_list("customer_id", "m")
        )
        for cid, moment in latest:
            moments[cid] = max(stamp, moment)
    notes = {
        (c, a, s): nid
        for nid, c, a, s in ReleaseNote.objects.filter(customer_id__in=[r[0] for r in rows]).values_list(
            "id", "customer_id", "author_id", "ownership_started"
        )
    }
    events, missing = [], []
    by_moment: dict[tuple[str, datetime], list[int]] = defaultdict(list)
    counts: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for cid, owner_id, owned_since, deadline, sold in rows:
        reason = ReleaseReason.NO_SALE if sold else ReleaseReason.NO_DEAL
        note_id = notes.get((cid, owner_id, owned_since))
        by_moment[(reason, moments[cid])].append(cid)
        events.append(
            OwnershipEvent(
                customer_id=cid,
                action=Action.RELEASED,
                from_owner_id=owner_id,
                reason=reason,
                rule=Rule.R5_4 if sold else Rule.R5_2,
                deadline=deadline,
                release_note_id=note_id,
                at=moments[cid],
            )
        )
        counts[(owner_id, reason)][0] += 1
        if note_id is None:
            counts[(owner_id, reason)][1] += 1
            missing.append(
                MissingReleaseNote(
                    customer_id=cid,
                    former_owner_id=owner_id,
                    ownership_started=owned_since,
                    released_at=moments[cid],
                    reason=reason,
                )
            )
    for (reason, moment), ids in by_moment.items():
        for i in range(0, len(ids), 500):
            Customer.objects.filter(pk__in=ids[i : i + 500]).update(
                released_from_id=F("owner_id"),
                owner=None,
                owner_basis="",
                owned_since=None,
                deadline=None,
                sold_in_ownership=False,
                deadline_extended=False,
                warned_for_deadline=None,
                introduced_by="",
                released_at=moment,
                release_reason=reason,
                next_follow_up_on=None,
                updated_at=now,
            )
    OwnershipEvent.objects.bulk_create(events, batch_size=500)
    MissingReleaseNote.objects.bulk_create(missing, batch_size=500, ignore_conflicts=True)
    for (owner_id, reason), (n, m) in counts.items():
        _count_release(result, owner_id, reason, n, m)
    _notify_released(result, now)


def _notify_released(result: NightlyResult, now: datetime) -> None:
    url = reverse("ownership:missing_notes")
    messages = []
    for owner_id, t in result.per_owner.items():
        n = t.no_deal + t.no_sale
        if not n:
            continue
        if t.missing_notes:
            text = ngettext(
                "%(n)d of your customers returned to the pool tonight, %(m)d without a release "
                "note: please write the missing notes now.",
                "%(n)d of your customers returned to the pool tonight, %(m)d without a release "
                "note: please write the missing notes now.",
                n,
            ) % {"n": n, "m": t.missing_notes}
        else:
            text = ngettext(
                "%(n)d of your customers returned to the pool tonight.",
                "%(n)d of your customers returned to the pool tonight.",
                n,
            ) % {"n": n}
        messages.append(Message(owner_id, "released", text, url))
    notify_many(messages=messages, now=now)


def _warning_window_q(as_of: date) -> Q:
    """Owned customers whose deadline falls within their department's warning window (R5.10) and
    whose owner has not yet been warned about this deadline."""
    windows = dict(PoolSettings.objects.values_list("department_id", "warning_days"))
    window = Q(deadline__lte=as_of + timedelta(days=DEFAULT_WARNING_DAYS)) & ~Q(department_id__in=list(windows))
    for dept_id, days in windows.items():
        window |= Q(department_id=dept_id, deadline__lte=as_of + timedelta(days=days))
    not_warned = Q(warned_for_deadline__isnull=True) | ~Q(warned_for_deadline=F("deadline"))
    # R7: no warnings for customers an open handover holds (the receiver gets a new deadline).
    return Q(owner__isnull=False, handover_ref__isnull=True, deadline__gte=as_of) & window & not_warned


def _warn(as_of: date, now: datetime, result: NightlyResult) -> None:
    # Locked until the run commits: a customer released and claimed between this read and the
    # update below would otherwise be marked warned for its new owner's deadline, unwarned.
    due = Customer.objects.filter(_warning_window_q(as_of)).select_for_update(no_key=True, of=("self",))
    rows = list(due.order_by("owner_id", "deadline").values_list("id", "owner_id", "name", "deadline"))
    if not rows:
        return
    ids = [r[0] for r in rows]
    for i in range(0, len(ids), 5000):
        Customer.objects.filter(pk__in=ids[i : i + 5000]).update(warned_for_deadline=F("deadline"))
    grouped: dict[int, list[tuple[str, date]]] = defaultdict(list)
    for _cid, owner_id, name, deadline in rows:
        grouped[owner_id].append((name, deadline))
    url = reverse("customers:mine") + "?ordering=deadline"
    messages = []
    for owner_id, items in grouped.items():
        _tally(result, owner_id).warned += len(items)
        shown = "、".join(f"{name}（{deadline:%m-%d}）" for name, deadline in items[:5])
        if len(items) > 5:
            text = _("Deadline approaching: %(list)s and %(n)d more. Close a deal or write the release note.") % {
                "list": shown,
                "n": len(items) - 5,
            }
        else:
            text = _("Deadline approaching: %(list)s. Close a deal or write the release note.") % {"list": shown}
        messages.append(Message(owner_id, "warning", text, url))
    result.run.warned = len(rows)
    notify_many(messages=messages, now=now)


def _dry_run(as_of: date, result: NightlyResult) -> None:
    """Count what a run would do, changing nothing."""
    has_note = Exists(
        ReleaseNote.objects.filter(
            customer_id=OuterRef("pk"), author_id=OuterRef("owner_id"), ownership_started=OuterRef("owned_since")
        )
    )
    rows = (
        _due(as_of)
        .order_by()
        .values("owner_id", "sold_in_ownership")
        .annotate(n=Count("id"), missing=Count("id", filter=~has_note))
    )
    for row in rows:
        reason = ReleaseReason.NO_SALE if row["sold_in_ownership"] else ReleaseReason.NO_DEAL
        _count_release(result, row["owner_id"], reason, row["n"], row["missing"])
    for row in Customer.objects.filter(_warning_window_q(as_of)).order_by().values("owner_id").annotate(n=Count("id")):
        _tally(result, row["owner_id"]).warned += row["n"]
        result.run.warned += row["n"]
