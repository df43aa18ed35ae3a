"""R1 customer information collection: the only writer of imports and information reports.

Imports (R1.2): upload → map columns and check every row (verdicts stored, nothing else saved) →
import the new rows into the pool through ownership.services.customers_import_into_pool, in one
transaction (all the file's new rows or none). Rows with a bad verdict are rejected one by one,
with their reason, and never block the others. Files of LARGE_ROWS rows or more are checked and
imported by Celery tasks (collection/tasks.py); both steps are safe to run twice.
"""

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from crm.errors import DomainError, PermissionDenied
from crm.queue import enqueue
from customers.models import Contact, Customer, Source
from customers.selectors import customers_visible_to
from customers.services import describe_existing
from notifications.services import Message, notify_many
from ownership.services import customers_import_into_pool, customers_import_lock

from . import parsing
from .models import (
    ImportBatch,
    ImportRow,
    ImportStatus,
    InfoReport,
    InfoReportCustomer,
    InfoReportEvent,
    InfoTask,
    ReportAction,
    ReportStatus,
    Verdict,
)
from .selectors import (
    can_archive_report,
    can_edit_report,
    can_import,
    can_manage_import,
    can_publish_report,
    can_write_findings,
    last_progress_at,
    progress_key,
)

logger = logging.getLogger(__name__)

LARGE_ROWS = 10_000  # from this many rows, checking and importing run as Celery tasks
CHUNK = 2000
IMPORTS_DIR = "imports"
PROGRESS_TTL = 3600
RUNNING = (ImportStatus.CHECKING, ImportStatus.IMPORTING)


# --- Progress and hand-over to the worker ------------------------------------------------------------


def _progress(batch_id: int, done: int, total: int) -> None:
    """Publish a running transaction's progress (its row updates are invisible until it commits).
    Best effort: the cache (Redis) being down must not fail the import."""
    try:
        cache.set(progress_key(batch_id), (done, total, time.time()), PROGRESS_TTL)
    except Exception as exc:
        logger.warning("import %s: progress not published: %s", batch_id, exc)


def _progress_clear(batch_id: int) -> None:
    try:
        cache.delete(progress_key(batch_id))
    except Exception as exc:
        logger.warning("import %s: progress not cleared: %s", batch_id, exc)


def _hand_to_worker(batch: ImportBatch) -> None:
    """Queue the batch's running step once the caller's transaction commits. When the broker
    cannot be reached the batch stays running with no `queued_at`: the page says it waits, and
    imports_resume_stalled queues it once the broker is back."""
    from .tasks import import_check_task, import_run_task

    task = import_check_task if batch.status == ImportStatus.CHECKING else import_run_task
    pk = batch.pk

    def publish() -> None:
        if not enqueue(task, pk):
            ImportBatch.objects.filter(pk=pk, status__in=RUNNING).update(queued_at=None)
            batch.queued_at = None

    transaction.on_commit(publish)


# --- Imports: upload ------------------------------------------------------------------------------


def _stored_file(batch: ImportBatch) -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / IMPORTS_DIR / batch.stored_path


def _remove_file(batch: ImportBatch) -> None:
    if batch.stored_path:
        _stored_file(batch).unlink(missing_ok=True)


def import_upload(
    *,
    user: User,
    file_name: str,
    data: bytes,
    source: str,
    source_detail: str = "",
    language: str = "zh-hans",
    now: datetime | None = None,
) -> ImportBatch:
    """Keep the uploaded list (in PRIVATE_MEDIA_ROOT, not public) and guess its columns. Nothing is
    checked against the customers yet; an unreadable file is refused and nothing is kept."""
    now = now or timezone.now()
    if not can_import(user):
        raise PermissionDenied(_("Only salespeople and managers of a sales department import customer lists."))
    if source not in Source.values:
        raise DomainError(_("Choose where the list comes from."))
    file_name = os.path.basename((file_name or "").replace("\\", "/")).replace("\x00", "")[:255] or "upload"
    try:
        table = parsing.read_table(file_name, data)
    except parsing.FileUnreadable as exc:
        raise DomainError(exc.message) from exc
    root = Path(settings.PRIVATE_MEDIA_ROOT) / IMPORTS_DIR
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    stored = f"{uuid.uuid4().hex}.{table.file_format}"
    path = root / stored
    with open(path, "xb") as out:
        out.write(data)
    os.chmod(path, 0o600)
    try:
        assert user.department_id is not None  # can_import
        return ImportBatch.objects.create(
            department_id=user.department_id,
            uploaded_by=user,
            source=source,
            source_detail=source_detail.strip()[:200],
            file_name=file_name,
            file_hash=hashlib.sha256(data).hexdigest(),
            file_size=len(data),
            file_format=table.file_format,
            encoding=table.encoding,
            stored_path=stored,
            language=(language or "zh-hans")[:10],
            headers=[_clean_text(h)[:100] for h in table.headers],
            mapping=parsing.guess_mapping(table.headers),
            estimated_rows=table.estimated_rows,
            created_at=now,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _clean_text(value: str) -> str:
    """PostgreSQL stores no NUL character, even inside JSON: show it as ␀."""
    return value.replace("\x00", "␀")


def import_cancel(*, batch: ImportBatch, user: User, now: datetime | None = None) -> ImportBatch:
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        if not can_manage_import(user, batch):
            raise PermissionDenied(_("Only the uploader or a manager of the department may cancel this import."))
        if batch.status not in (ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.FAILED):
            raise DomainError(_("This import can no longer be cancelled."))
        batch.status = ImportStatus.CANCELLED
        batch.save(update_fields=["status"])
        transaction.on_commit(lambda: _remove_file(batch))
    return batch


# --- Imports: checking ------------------------------------------------------------------------------


def import_check(
    *, batch: ImportBatch, user: User, mapping: dict[str, Any], now: datetime | None = None
) -> ImportBatch:
    """Check every row with the chosen columns: its verdict (new, duplicate of an existing customer,
    duplicate inside the file, invalid) and reason. Inline for small files, a task for large ones."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        if not can_manage_import(user, batch):
            raise PermissionDenied(_("Only the uploader or a manager of the department may check this import."))
        if batch.status not in (ImportStatus.UPLOADED, ImportStatus.CHECKED):
            raise DomainError(_("This import is %(status)s.") % {"status": batch.get_status_display()})
        cleaned, errors = parsing.clean_mapping(mapping, len(batch.headers))
        if errors:
            raise DomainError(" ".join(errors))
        batch.mapping = cleaned
        batch.status = ImportStatus.CHECKING
        batch.processed_rows = 0
        batch.error = ""
        batch.as_task = batch.estimated_rows >= LARGE_ROWS
        batch.queued_at = now or timezone.now()
        batch.save(update_fields=["mapping", "status", "processed_rows", "error", "as_task", "queued_at"])
        if batch.as_task:
            _hand_to_worker(batch)
    if not batch.as_task:
        batch = import_check_run(batch_id=batch.pk, now=now)
    return batch


@dataclass
class _Seen:
    """Keys of the file's earlier rows, for the duplicates inside the file."""

    code: dict[str, int] = field(default_factory=dict)
    name: dict[str, int] = field(default_factory=dict)
    phone: dict[str, int] = field(default_factory=dict)
    near: dict[str, tuple[int, str]] = field(default_factory=dict)  # near key -> (row, name key)


def _what(matched_on: str) -> str:
    return {
        "credit_code": _("unified social credit code"),
        "name": _("company name"),
        "phone": _("contact phone"),
    }[matched_on]


def _existing(rows: list[tuple[int, parsing.CleanRow]]) -> dict[int, tuple[Customer, str]]:
    """R5.1 in bulk: for each row index, the existing customer with the same credit code, the same
    normalised name or the same contact phone (checked in that order), company-wide."""
    codes = {r.code for _, r in rows if r.code}
    keys = {r.name_key for _, r in rows if r.name_key}
    phones = {d for _, r in rows for d in r.phone_digits}
    by_code: dict[str, int] = {}
    by_name: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    for start in range(0, max(len(codes), len(keys), len(phones)), 1000):
        part = sorted(codes)[start : start + 1000]
        if part:
            for code, pk in Customer.objects.filter(credit_code__in=part).values_list("credit_code", "pk"):
                by_code[code or ""] = pk
        part = sorted(keys)[start : start + 1000]
        if part:
            for key, pk in Customer.objects.filter(name_key__in=part).order_by("pk").values_list("name_key", "pk"):
                by_name.setdefault(key, pk)
        part = sorted(phones)[start : start + 1000]
        if part:
            for digits, pk in (
                Contact.objects.filter(phone_digits__in=part).order_by("pk").values_list("phone_digits", "customer_id")
            ):
                by_phone.setdefault(digits, pk)
    found: dict[int, tuple[int, str]] = {}
    for i, r in rows:
        if r.code and r.code in by_code:
            found[i] = (by_code[r.code], "credit_code")
        elif r.name_key in by_name:
            found[i] = (by_name[r.name_key], "name")
        else:
            hit = next((by_phone[d] for d in r.phone_digits if d in by_phone), None)
            if hit is not None:
                found[i] = (hit, "phone")
    customers = Customer.objects.select_related("owner", "department").in_bulk({pk for pk, _ in found.values()})
    return {i: (customers[pk], how) for i, (pk, how) in found.items() if pk in customers}


def _similar(rows: list[tuple[int, parsing.CleanRow]]) -> dict[int, Customer]:
    """For each row index, an existing customer that is possibly the same company written another
    way (深圳市X / 深圳X: the same near key, not the same name), through the indexed near key. A
    warning in the verdict, never a rejection."""
    keys = sorted({r.near_key for _, r in rows if r.near_key})
    by_key: dict[str, list[tuple[str, int]]] = {}
    for start in range(0, len(keys), 1000):
        for near, name_key, pk in (
            Customer.objects.filter(name_near_key__in=keys[start : start + 1000])
            .order_by("pk")
            .values_list("name_near_key", "name_key", "pk")
        ):
            by_key.setdefault(near, []).append((name_key, pk))
    found: dict[int, int] = {}
    for i, r in rows:
        hit = next((pk for name_key, pk in by_key.get(r.near_key, ()) if name_key != r.name_key), None)
        if hit is not None:
            found[i] = hit
    customers = Customer.objects.select_related("owner", "department").in_bulk(set(found.values()))
    return {i: customers[pk] for i, pk in found.items() if pk in customers}


def duplicate_reason(customer: Customer, matched_on: str) -> str:
    """Says who owns the existing customer or that it is in the pool (R5.1), never its contacts."""
    values = {"name": customer.name, "what": _what(matched_on)}
    if customer.owner_id is None:
        values["department"] = str(customer.department)
        return (
            _("Already a customer: %(name)s (same %(what)s), in the pool of %(department)s, where it can be claimed.")
            % values
        )
    values["owner"] = str(customer.owner)
    return _("Already a customer: %(name)s (same %(what)s), owned by %(owner)s.") % values


def _in_file(seen: _Seen, r: parsing.CleanRow) -> tuple[int, str] | None:
    if r.code and r.code in seen.code:
        return seen.code[r.code], "credit_code"
    if r.name_key in seen.name:
        return seen.name[r.name_key], "name"
    for d in r.phone_digits:
        if d in seen.phone:
            return seen.phone[d], "phone"
    return None


def _chunks(rows: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _failed_unexpectedly(batch_id: int, running: str, back_to: str) -> ImportBatch:
    """An error nobody foresaw (a database error, a bug): logged, and the batch leaves its running
    state with a translated message, so that it can be checked again or cancelled; nothing of the
    failed transaction was written."""
    logger.exception("import %s failed while %s", batch_id, running)
    batch = ImportBatch.objects.get(pk=batch_id)
    with translation.override(batch.language):
        message = _("The import stopped on an unexpected error; nothing was saved. Try again, or tell an admin.")
    ImportBatch.objects.filter(pk=batch_id, status=running).update(status=back_to, error=message)
    _progress_clear(batch_id)
    return ImportBatch.objects.get(pk=batch_id)


def import_check_run(*, batch_id: int, now: datetime | None = None) -> ImportBatch:
    """The check itself (inline or the task). One transaction; a second run finds the batch no
    longer "checking" and does nothing."""
    try:
        return _import_check_run(batch_id=batch_id, now=now)
    except Exception:
        return _failed_unexpectedly(batch_id, ImportStatus.CHECKING, ImportStatus.FAILED)


def _import_check_run(*, batch_id: int, now: datetime | None = None) -> ImportBatch:
    now = now or timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update(no_key=True).get(pk=batch_id)
        if batch.status != ImportStatus.CHECKING:
            return batch
        batch.rows.all().delete()
        counts = dict.fromkeys(Verdict.values, 0)
        total = 0
        with translation.override(batch.language):
            try:
                data = _stored_file(batch).read_bytes()
                table = parsing.read_table(batch.file_name, data)
                seen = _Seen()
                estimate = max(batch.estimated_rows, 1)
                for chunk in _chunks(table.rows, CHUNK):
                    cleaned = [(n, cells, parsing.clean_row(cells, batch.mapping)) for n, cells in chunk]
                    valid = [(i, r) for i, (_n, _c, r) in enumerate(cleaned) if not r.errors]
                    existing = _existing(valid)
                    similar = _similar(valid)
                    objs = []
                    for i, (number, cells, r) in enumerate(cleaned):
                        row = ImportRow(
                            batch=batch,
                            number=number,
                            data=_json_safe(r.data),
                            raw=[_clean_text(c) for c in cells],
                        )
                        if r.errors:
                            row.verdict, row.reason = Verdict.INVALID, " ".join(r.errors)
                        elif i in existing:
                            customer, how = existing[i]
                            row.verdict, row.reason = Verdict.DUPLICATE, duplicate_reason(customer, how)
                            row.duplicate_customer = customer
                        elif (earlier := _in_file(seen, r)) is not None:
                            row.verdict = Verdict.IN_FILE
                            row.duplicate_row = earlier[0]
                            row.reason = _("Same %(what)s as row %(row)d of this file.") % {
                                "what": _what(earlier[1]),
                                "row": earlier[0],
                            }
                        else:
                            row.verdict, row.reason = Verdict.NEW, ""
                            if i in similar:
                                row.reason = _(
                                    "Possible duplicate of %(existing)s: imported all the same, check it."
                                ) % {"existing": describe_existing(similar[i])}
                                row.duplicate_customer = similar[i]
                            elif r.near_key in seen.near and seen.near[r.near_key][1] != r.name_key:
                                row.reason = _(
                                    "Possibly the same company as row %(row)d of this file: imported all the same, "
                                    "check it."
                                ) % {"row": seen.near[r.near_key][0]}
                        if not r.errors:
                            if r.code:
                                seen.code.setdefault(r.code, number)
                            seen.name.setdefault(r.name_key, number)
                            if r.near_key:
                                seen.near.setdefault(r.near_key, (number, r.name_key))
                            # Only the first phone becomes the contact's (the others go to the
                            # notes): later rows meet it as they would meet an existing customer.
                            for d in r.phone_digits[:1]:
                                seen.phone.setdefault(d, number)
                        counts[row.verdict] += 1
                        objs.append(row)
                    ImportRow.objects.bulk_create(objs, batch_size=CHUNK)
                    total += len(objs)
                    _progress(batch.pk, total, max(total, estimate))
            except (parsing.FileUnreadable, OSError) as exc:
                message = exc.message if isinstance(exc, parsing.FileUnreadable) else _("The uploaded file is gone.")
                batch.rows.all().delete()
                batch.status = ImportStatus.FAILED
                batch.error = message
                batch.save(update_fields=["status", "error"])
                transaction.on_commit(lambda: _remove_file(batch))
                _progress_clear(batch.pk)
                return batch
        if total == 0:
            batch.status = ImportStatus.FAILED
            with translation.override(batch.language):
                batch.error = _("The file has a header row but no data rows.")
            batch.save(update_fields=["status", "error"])
            return batch
        batch.total_rows = batch.processed_rows = total
        batch.new_count = counts[Verdict.NEW]
        batch.duplicate_count = counts[Verdict.DUPLICATE]
        batch.in_file_count = counts[Verdict.IN_FILE]
        batch.invalid_count = counts[Verdict.INVALID]
        batch.status = ImportStatus.CHECKED
        batch.checked_at = now
        batch.as_task = total >= LARGE_ROWS or batch.as_task
        batch.duration_ms = int((time.monotonic() - started) * 1000)
        batch.save()
    _progress_clear(batch.pk)
    return batch


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _clean_text(v) if isinstance(v, str) else v for k, v in data.items()}


# --- Imports: importing ---------------------------------------------------------------------------


def import_start(*, batch: ImportBatch, user: User, now: datetime | None = None) -> ImportBatch:
    """Import the checked file's new rows into the pool: inline for small files, a task for large."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        if not can_manage_import(user, batch):
            raise PermissionDenied(_("Only the uploader or a manager of the department may run this import."))
        if batch.status != ImportStatus.CHECKED:
            raise DomainError(_("This import is %(status)s.") % {"status": batch.get_status_display()})
        if batch.new_count == 0:
            raise DomainError(_("Nothing to import: every row is a duplicate or invalid."))
        batch.status = ImportStatus.IMPORTING
        batch.imported_by = user
        batch.error = ""
        batch.queued_at = now or timezone.now()
        batch.save(update_fields=["status", "imported_by", "error", "queued_at"])
        if batch.as_task:
            _hand_to_worker(batch)
    if not batch.as_task:
        batch = import_run(batch_id=batch.pk, now=now)
    return batch


def _contacts(data: dict[str, Any]) -> list[dict[str, Any]]:
    if not (data.get("phone") or data.get("email")):
        return []
    return [
        {
            "name": (data.get("contact") or _("Contact"))[:60],
            "phone": data.get("phone", ""),
            "email": data.get("email", ""),
            "is_primary": True,
        }
    ]


def import_run(*, batch_id: int, now: datetime | None = None) -> ImportBatch:
    """The import itself (inline or the task). One transaction: the new rows are checked again
    against customers registered since the check, then all of them go into the pool, or none. A
    second run finds the batch no longer "importing" and does nothing."""
    try:
        return _import_run(batch_id=batch_id, now=now)
    except Exception:
        return _failed_unexpectedly(batch_id, ImportStatus.IMPORTING, ImportStatus.CHECKED)


def _import_run(*, batch_id: int, now: datetime | None = None) -> ImportBatch:
    now = now or timezone.now()
    started = time.monotonic()
    try:
        with transaction.atomic():
            batch = (
                ImportBatch.objects.select_for_update(no_key=True, of=("self",))
                .select_related("imported_by")
                .get(pk=batch_id)
            )
            if batch.status != ImportStatus.IMPORTING:
                return batch
            # Imports run one at a time from before the re-check to the commit: two overlapping
            # lists imported at once would otherwise both find a company new (R5.1).
            customers_import_lock()
            user = batch.imported_by or batch.uploaded_by
            with translation.override(batch.language):
                rows = list(batch.rows.filter(verdict=Verdict.NEW).order_by("number"))
                total = len(rows)
                _progress(batch.pk, 0, total)
                payload, keep = [], []
                for start in range(0, total, CHUNK):
                    part = rows[start : start + CHUNK]
                    cleaned = [(i, _as_clean(r)) for i, r in enumerate(part)]
                    existing = _existing(cleaned)
                    for i, row in enumerate(part):
                        if i in existing:
                            customer, how = existing[i]
                            row.verdict = Verdict.DUPLICATE
                            row.reason = duplicate_reason(customer, how) + " " + _("(registered since the check)")
                            row.duplicate_customer = customer
                            continue
                        keep.append(row)
                        payload.append(
                            {
                                "name": row.data["name"],
                                "credit_code": row.data.get("credit_code") or None,
                                "industry": row.data.get("industry") or "other",
                                "city": row.data.get("city", ""),
                                "address": row.data.get("address", ""),
                                "source": batch.source,
                                "source_detail": (batch.source_detail or batch.file_name)[:200],
                                "notes": row.data.get("notes", ""),
                                "contacts": _contacts(row.data),
                            }
                        )
                    _progress(batch.pk, min(start + CHUNK, total) // 2, total)
                ids = customers_import_into_pool(rows=payload, department_id=batch.department_id, user=user, now=now)
                changed = [row for row in rows if row.verdict != Verdict.NEW]
                if changed:
                    ImportRow.objects.bulk_update(changed, ["verdict", "reason", "duplicate_customer"], batch_size=500)
                # One UPDATE by primary key per row, sent as a batch (bulk_update's CASE over
                # thousands of rows is quadratic).
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {ImportRow._meta.db_table} SET customer_id = %s WHERE id = %s",
                        [(pk, row.pk) for row, pk in zip(keep, ids, strict=True)],
                    )
            batch.imported_count = len(ids)
            batch.duplicate_count += total - len(ids)
            batch.new_count = len(ids)
            batch.status = ImportStatus.DONE
            batch.imported_at = now
            batch.duration_ms = int((time.monotonic() - started) * 1000)
            batch.save()
            transaction.on_commit(lambda: _remove_file(batch))
    except (DomainError, PermissionDenied, IntegrityError) as exc:
        # Nothing was written; the file can be checked again.
        if isinstance(exc, DomainError | PermissionDenied):
            message = exc.message
        else:
            logger.warning("import %s refused by the database: %s", batch_id, exc)
            with translation.override(ImportBatch.objects.get(pk=batch_id).language):
                message = _(
                    "A customer of this list was registered meanwhile (the database refused a duplicate); "
                    "nothing was saved. Check the rows again."
                )
        ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.IMPORTING).update(
            status=ImportStatus.CHECKED, error=message[:1000]
        )
        batch = ImportBatch.objects.get(pk=batch_id)
    finally:
        _progress_clear(batch_id)
    return batch


def imports_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """R1.2: hand every check or import that nobody works on to a worker again: those waiting for
    an unreachable broker, and those with no progress for IMPORT_STALL_MINUTES (a worker died)
    whose row no worker holds. Run every minute by beat; safe twice and beside live workers: a
    batch a worker holds is skipped (SKIP LOCKED), and a task delivered twice finds the batch no
    longer running. Returns the ids handed over."""
    now = now or timezone.now()
    threshold = now - timedelta(minutes=settings.IMPORT_STALL_MINUTES)
    candidates = list(
        ImportBatch.objects.filter(status__in=RUNNING)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=threshold))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    resumed = []
    for pk in candidates:
        progressed = last_progress_at(pk)
        if progressed is not None and progressed >= threshold:
            continue  # a worker is on it (its transaction publishes progress)
        with transaction.atomic():
            batch = (
                ImportBatch.objects.select_for_update(no_key=True, skip_locked=True)
                .filter(pk=pk, status__in=RUNNING)
                .first()
            )
            if batch is None:
                continue  # a worker holds its row, or it ended meanwhile
            logger.warning("import %s %s: nobody works on it, handed to a worker again", pk, batch.status)
            batch.queued_at = now
            batch.resume_count += 1
            batch.save(update_fields=["queued_at", "resume_count"])
            _hand_to_worker(batch)
        resumed.append(pk)
    return resumed


def _as_clean(row: ImportRow) -> parsing.CleanRow:
    from customers.validators import normalize_company_name

    return parsing.CleanRow(
        data=row.data,
        code=row.data.get("credit_code") or "",
        name_key=normalize_company_name(row.data.get("name", "")),
        phone_digits=list(row.data.get("phone_digits") or []),
    )


def rejected_rows(batch: ImportBatch) -> Iterator[list[Any]]:
    """The rows not imported, for the downloadable report: row, verdict, reason, then the file's
    own cells. Streamed in chunks."""
    labels = dict(Verdict.choices)
    qs = batch.rows.exclude(verdict=Verdict.NEW).order_by("number").values_list("number", "verdict", "reason", "raw")
    for number, verdict, reason, raw in qs.iterator(chunk_size=CHUNK):
        yield [number, str(labels.get(verdict, verdict)), reason, *(raw or [])]


# --- Information reports (R1.3) -------------------------------------------------------------------

REPORT_TEXT_FIELDS = ("information_needed", "work_plan", "summary", "needs_direction")
MAX_TEXT = 20_000


def _event(report: InfoReport, action: str, user: User, now: datetime, note: str = "") -> None:
    InfoReportEvent.objects.create(report=report, action=action, actor=user, at=now, note=note)


def _clean_report_data(data: dict[str, Any]) -> dict[str, str]:
    out = {k: str(data.get(k) or "").replace("\x00", "").strip() for k in ("title", "category", *REPORT_TEXT_FIELDS)}
    if not out["title"]:
        raise DomainError(_("Give the report a title."))
    if not out["category"]:
        raise DomainError(_("Give the report a category (an industry or a theme)."))
    if len(out["title"]) > 200 or len(out["category"]) > 60:
        raise DomainError(_("The title has at most 200 characters and the category at most 60."))
    if any(len(out[k]) > MAX_TEXT for k in REPORT_TEXT_FIELDS):
        raise DomainError(_("A text has at most %(n)d characters.") % {"n": MAX_TEXT})
    return out


def report_create(*, user: User, data: dict[str, Any], now: datetime | None = None) -> InfoReport:
    """A draft: the plan first (what information is needed, the work plan), the rest later."""
    now = now or timezone.now()
    if not (user.is_active and user.department_id and (user.is_salesperson or user.is_manager or user.is_admin_role)):
        raise PermissionDenied(_("Only members of a sales department write information reports."))
    fields = _clean_report_data(data)
    with transaction.atomic():
        report = InfoReport.objects.create(
            department_id=user.department_id, author=user, created_at=now, updated_at=now, **fields
        )
        _event(report, ReportAction.CREATED, user, now)
    return report


def _lock_report(report: InfoReport) -> InfoReport:
    return InfoReport.objects.select_for_update(no_key=True).get(pk=report.pk)


def report_update(*, report: InfoReport, user: User, data: dict[str, Any], now: datetime | None = None) -> InfoReport:
    """Change the title, category and texts given in `data`; a field left out keeps its value (a
    partial update never erases what it was not given)."""
    now = now or timezone.now()
    with transaction.atomic():
        report = _lock_report(report)
        if not can_edit_report(user, report):
            raise PermissionDenied(_("Only the author and the managers change a draft report."))
        current = {k: getattr(report, k) for k in ("title", "category", *REPORT_TEXT_FIELDS)}
        fields = _clean_report_data({**current, **{k: v for k, v in data.items() if k in current}})
        for k, v in fields.items():
            setattr(report, k, v)
        report.updated_at = now
        report.save()
    return report


def report_task_add(
    *, report: InfoReport, user: User, assignee: User, text: str, now: datetime | None = None
) -> InfoTask:
    """R1.3 step 2: assign a task to a salesperson of the report's department."""
    now = now or timezone.now()
    text = (text or "").replace("\x00", "").strip()
    if not text or len(text) > 2000:
        raise DomainError(_("Describe the task in at most 2,000 characters."))
    with transaction.atomic():
        report = _lock_report(report)
        if not can_edit_report(user, report):
            raise PermissionDenied(_("Only the author and the managers assign tasks of a draft report."))
        if not (assignee.is_active and assignee.is_salesperson and assignee.department_id == report.department_id):
            raise DomainError(_("Assign tasks only to active salespeople of the report's department."))
        task = InfoTask.objects.create(report=report, assignee=assignee, text=text, created_at=now)
        InfoReport.objects.filter(pk=report.pk).update(updated_at=now)
        if assignee.pk != user.pk:
            notify_many(
                messages=[
                    Message(
                        assignee.pk,
                        "info_task",
                        _("%(user)s gave you a task in the information report “%(title)s”.")
                        % {"user": user, "title": report.title},
                        reverse("collection:report_detail", args=[report.pk]),
                    )
                ],
                now=now,
            )
    return task


def report_task_remove(*, task: InfoTask, user: User) -> None:
    with transaction.atomic():
        report = _lock_report(task.report)
        if not can_edit_report(user, report):
            raise PermissionDenied(_("Only the author and the managers change the tasks of a draft report."))
        InfoTask.objects.filter(pk=task.pk, report=report).delete()


def task_findings_save(*, task: InfoTask, user: User, findings: str, now: datetime | None = None) -> InfoTask:
    """The assignee adds (or corrects) its findings while the report is a draft."""
    now = now or timezone.now()
    findings = (findings or "").replace("\x00", "").strip()
    if len(findings) > MAX_TEXT:
        raise DomainError(_("A text has at most %(n)d characters.") % {"n": MAX_TEXT})
    with transaction.atomic():
        report = _lock_report(task.report)
        task = InfoTask.objects.select_for_update(no_key=True).get(pk=task.pk)
        if not can_write_findings(user, task, report):
            raise PermissionDenied(_("Only the assignee adds findings, before the report is published."))
        task.findings = findings
        task.findings_at = now
        task.save(update_fields=["findings", "findings_at"])
    return task


def report_link_customer(
    *, report: InfoReport, user: User, customer: Customer, now: datetime | None = None
) -> InfoReportCustomer:
    """Link a customer the report's author (and the user linking it) may see."""
    now = now or timezone.now()
    with transaction.atomic():
        report = _lock_report(report)
        if not can_edit_report(user, report):
            raise PermissionDenied(_("Only the author and the managers link customers to a draft report."))
        author = User.objects.get(pk=report.author_id)
        if not (
            customers_visible_to(user).filter(pk=customer.pk).exists()
            and customers_visible_to(author).filter(pk=customer.pk).exists()
        ):
            raise DomainError(_("Link only customers the report's author may see."))
        link, _created = InfoReportCustomer.objects.get_or_create(
            report=report, customer=customer, defaults={"linked_by": user, "linked_at": now}
        )
    return link


def report_unlink_customer(*, report: InfoReport, user: User, customer_id: int) -> None:
    with transaction.atomic():
        report = _lock_report(report)
        if not can_edit_report(user, report):
            raise PermissionDenied(_("Only the author and the managers change a draft report."))
        InfoReportCustomer.objects.filter(report=report, customer_id=customer_id).delete()


def report_publish(*, report: InfoReport, user: User, now: datetime | None = None) -> InfoReport:
    """R1.3 step 5: a manager publishes the compiled report; every salesperson of the department is
    notified and may read it from now on."""
    now = now or timezone.now()
    with transaction.atomic():
        report = _lock_report(report)
        if not can_publish_report(user, report):
            raise PermissionDenied(_("Only a manager of the department publishes a draft report."))
        if not (report.summary.strip() and report.needs_direction.strip()):
            raise DomainError(_("Write the compiled summary and the customer needs direction before publishing."))
        report.status = ReportStatus.PUBLISHED
        report.published_at = now
        report.published_by = user
        report.updated_at = now
        report.save(update_fields=["status", "published_at", "published_by", "updated_at"])
        _event(report, ReportAction.PUBLISHED, user, now)
        recipients = (
            User.objects.filter(is_active=True, department_id=report.department_id, groups__name=roles.SALESPERSON)
            .exclude(pk=user.pk)
            .values_list("pk", flat=True)
            .distinct()
        )
        url = reverse("collection:report_detail", args=[report.pk])
        text = _("New information report: %(title)s (%(category)s).") % {
            "title": report.title,
            "category": report.category,
        }
        notify_many(messages=[Message(pk, "info_report", text, url) for pk in recipients], now=now)
    return report


def report_archive(*, report: InfoReport, user: User, now: datetime | None = None) -> InfoReport:
    """R1.3 step 6: archived by category; still visible and searchable, no longer current."""
    now = now or timezone.now()
    with transaction.atomic():
        report = _lock_report(report)
        if not can_archive_report(user, report):
            raise PermissionDenied(_("Only a manager of the department archives a published report."))
        report.status = ReportStatus.ARCHIVED
        report.archived_at = now
        report.archived_by = user
        report.updated_at = now
        report.save(update_fields=["status", "archived_at", "archived_by", "updated_at"])
        _event(report, ReportAction.ARCHIVED, user, now)
    return report
