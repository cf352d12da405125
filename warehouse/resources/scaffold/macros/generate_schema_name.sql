{#- Layers are schemas: a model's `schema` config (set per layer folder in dbt_project.yml) is used
    as is (dbt's default would prefix the target schema: `public_dwd`). dbt lets only the root
    project override this macro, so it lives here. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{- (custom_schema_name or target.schema) | trim -}}
{%- endmacro %}
