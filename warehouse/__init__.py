"""A dbt-style streaming warehouse: layered models as continuous Flink SQL jobs over PostgreSQL."""

__version__ = "0.1.0"
