"""Role names: the groups the data migration creates (docs/rules.md, "Who uses it")."""

SALESPERSON = "salesperson"
MANAGER = "manager"
FINANCE = "finance"
ADMIN = "admin"

ALL_ROLES = (SALESPERSON, MANAGER, FINANCE, ADMIN)
