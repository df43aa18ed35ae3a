"""Demo qualification documents (R4.1): licences and tax registrations of some owned customers,
two of them expiring or expired so that the flags and last night's notices show."""

from datetime import timedelta

from django.utils import timezone

from crm.dates import local_today
from crm.demo import DemoContext, demo_step

from .models import Customer, CustomerDocument, DocumentKind
from .services import DocumentInput, document_upload, documents_notify_expiring


def _pdf(title: str) -> bytes:
    """A small, valid one-page PDF (what a scanner would send, without the scan)."""
    text = title.encode("ascii", "replace")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@demo_step(35)
def customer_documents(ctx: DemoContext) -> None:
    if CustomerDocument.objects.exists():
        ctx.log("  documents already seeded; nothing added")
        return
    today = local_today()
    # Expiring in 12 days, expired 3 days ago, then long-valid ones.
    ends = [today + timedelta(days=12), today - timedelta(days=3)] + [
        today + timedelta(days=365 * ctx.rng.randint(1, 5)) for _ in range(10)
    ]
    count = 0
    for people in ctx.data.get("salespeople", {}).values():
        for person in people[:3]:
            for customer in Customer.objects.filter(owner=person).order_by("pk")[:4]:
                until = ends[count % len(ends)]
                document_upload(
                    customer=customer,
                    user=person,
                    data=DocumentInput(
                        kind=DocumentKind.BUSINESS_LICENCE,
                        number=customer.credit_code or "",
                        valid_from=until - timedelta(days=365 * 5),
                        valid_until=until,
                    ),
                    file_name="营业执照.pdf",
                    chunks=[_pdf(f"Business licence {customer.credit_code}")],
                    now=timezone.now() - timedelta(days=30),
                )
                count += 1
                if count % 3 == 0:
                    document_upload(
                        customer=customer,
                        user=person,
                        data=DocumentInput(kind=DocumentKind.TAX_REGISTRATION, number=customer.credit_code or ""),
                        file_name="税务登记证.pdf",
                        chunks=[_pdf(f"Tax registration {customer.credit_code}")],
                        now=timezone.now() - timedelta(days=30),
                    )
                    count += 1
    told = documents_notify_expiring(as_of=today)
    ctx.log(f"  {count} documents, {told} expiring ones notified")
