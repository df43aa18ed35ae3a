"""Company-name search by any substring of two or more characters (R5.7).

pg_trgm needs three characters, and Chinese names are searched by two (华为, 腾讯). On
PostgreSQL the migration creates crm_bigrams(text) -> text[] and a GIN index on
crm_bigrams(name); the lookup asks that index for rows holding every bigram of the query, then
confirms the substring. Elsewhere (SQLite in development) it is a plain substring test.
"""

from django.db.models import CharField, Lookup, Q


@CharField.register_lookup
class BigramContains(Lookup):
    lookup_name = "bigram_contains"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"instr(lower({lhs}), lower({rhs})) > 0", [*lhs_params, *rhs_params]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        sql = f"crm_bigrams({lhs}) @> crm_bigrams({rhs}) AND strpos(lower({lhs}), lower({rhs})) > 0"
        return sql, [*lhs_params, *rhs_params, *lhs_params, *rhs_params]


def name_contains_q(query: str) -> Q:
    query = query.strip()
    if len(query) < 2:
        # One character matches a third of the pool and no index serves it.
        return Q(pk__in=[])
    return Q(name__bigram_contains=query)


CREATE_BIGRAMS_SQL = """
CREATE OR REPLACE FUNCTION crm_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(lower(t), i, 2)), '{}'::text[])
  FROM generate_series(1, char_length(t) - 1) AS i
$$;
"""
DROP_BIGRAMS_SQL = "DROP FUNCTION IF EXISTS crm_bigrams(text);"
