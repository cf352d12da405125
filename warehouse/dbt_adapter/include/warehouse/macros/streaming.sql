{#-
  The framework's model macros. They ship as the `warehouse` dbt adapter's include path, so every
  project can call them unqualified, like dbt's own.
-#}

{#- The dimension side of a lookup join: `JOIN {{ lookup('dim') }} FOR SYSTEM_TIME AS OF x.proc_time AS d`.
    cache: 'none' | 'lru' (max_rows, ttl) | 'all' (every row, reloaded every ttl).
    cache_missing: also cache keys that were not found (unsafe when the dimension gains rows). -#}
{% macro lookup(model_name, cache='none', max_rows=10000, ttl='10min', cache_missing=false) -%}
  {%- if cache not in ['none', 'lru', 'all'] -%}
    {{ exceptions.raise_compiler_error("lookup('" ~ model_name ~ "'): cache must be 'none', 'lru' or 'all', not '" ~ cache ~ "'") }}
  {%- endif -%}
  {%- set relation = ref(model_name) -%}
  {%- set options = {'mode': cache, 'max_rows': max_rows, 'ttl': ttl, 'cache_missing': cache_missing} -%}
  {%- do config(meta={'warehouse_lookup__' ~ model_name: options}) -%}
  {%- if execute -%}
    {{- relation.incorporate(path={'identifier': relation.identifier ~ ('__lookup_all' if cache == 'all' else '__lookup')}) -}}
  {%- else -%}
    {{- relation -}}
  {%- endif -%}
{%- endmacro %}

{#- Starts one stream of a partial_update model: the SELECT that follows writes only its own columns. -#}
{% macro stream(name) -%}
/* warehouse:stream {{ name }} */
{%- endmacro %}

{% materialization continuous, adapter='warehouse' -%}
  {{ exceptions.raise_compiler_error("model " ~ model.name ~ " is a continuous Flink job: run it with `warehouse run`, not `dbt run`") }}
{%- endmaterialization %}

{% materialization partial_update, adapter='warehouse' -%}
  {{ exceptions.raise_compiler_error("model " ~ model.name ~ " is a continuous Flink job: run it with `warehouse run`, not `dbt run`") }}
{%- endmaterialization %}
