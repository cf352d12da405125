"""Whole-database sync: one declaration on a source mirrors every matching table of its database into ODS.

- declaration.py: the `sync:` block a source's yml carries (include/exclude patterns, naming, policy).
- introspect.py: the tables, columns and primary keys a source database has (MySQL or PostgreSQL).
- evolution.py: what a change at the source does to its mirror, per schema-change policy (pure rules).
- generate.py: the mirrored models as files dbt reads (a yml and one SELECT per table), rewritten by
  `warehouse sync` (and every `run`) from the source's catalog, never by hand.
- follow.py: `warehouse sync --follow`: sync every few seconds and deploy the mirrors of a source that changed.
"""
