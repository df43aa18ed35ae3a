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
