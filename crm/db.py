"""Database-enforced rules shared by migrations."""


def append_only_trigger_sql(table: str, *, operations: str = "UPDATE OR DELETE") -> tuple[str, str]:
    """(create, drop) SQL for a PostgreSQL trigger refusing `operations` on `table`: history rows
    are never edited or deleted, whatever client or console tries. TRUNCATE (table owner only)
    stays possible for the test runner's flush."""
    name = f"{table}_append_only"
    create = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{table} is append-only' USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER {name} BEFORE {operations} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();
"""
    drop = f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();"
    return create, drop


def try_xact_lock(key: str) -> bool:
    """A PostgreSQL advisory lock held until the current transaction ends, without waiting: False
    when another transaction holds it (e.g. the same scheduled task running twice at once, from
    two workers). Always True on other databases (development)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [key])
        return bool(cursor.fetchone()[0])
