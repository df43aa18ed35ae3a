import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so production log shippers need no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


class OneLineRefusals(logging.Filter):
    """A refused request (403, 404, any 4xx) is the system working, not a failure: log it in one
    line with the refusal's reason, without the traceback Django attaches to a PermissionDenied.
    Attached to the `django.request` logger (crm/settings.py LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and record.exc_info:
            exc = record.exc_info[1]
            reason = str(exc).replace("\n", " ").strip() if exc is not None else ""
            record.msg = f"{record.getMessage()} ({type(exc).__name__}{': ' + reason if reason else ''})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True
