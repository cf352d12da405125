package io.warehouse.flink;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.logical.LogicalType;

/**
 * The `warehouse-changes` sink: every change of its input (+I, -U, +U, -D) becomes one INSERT into a
 * PostgreSQL table, with the change's kind in a column of its own.
 *
 * <p>Flink SQL has no other way to keep a retraction as data: an upsert sink turns -D into a DELETE, and
 * an append sink refuses a changelog. The warehouse uses it for late rows. Rows are written in batches,
 * at every checkpoint at the latest; a replay after a failure writes the same rows again, so the table
 * needs a unique key over them (the insert is ON CONFLICT DO NOTHING).
 */
public final class ChangesSinkFactory implements DynamicTableSinkFactory {
    public static final ConfigOption<String> URL = ConfigOptions.key("url").stringType().noDefaultValue();
    public static final ConfigOption<String> TABLE =
            ConfigOptions.key("table-name").stringType().noDefaultValue();
    public static final ConfigOption<String> USERNAME =
            ConfigOptions.key("username").stringType().defaultValue("postgres");
    public static final ConfigOption<String> PASSWORD =
            ConfigOptions.key("password").stringType().defaultValue("");
    public static final ConfigOption<String> CHANGE_COLUMN =
            ConfigOptions.key("change-column").stringType().defaultValue("change");
    public static final ConfigOption<Integer> BATCH_ROWS =
            ConfigOptions.key("batch-rows").intType().defaultValue(500);

    @Override
    public String factoryIdentifier() {
        return "warehouse-changes";
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(URL, TABLE);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(USERNAME, PASSWORD, CHANGE_COLUMN, BATCH_ROWS);
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ReadableConfig options = helper.getOptions();
        ResolvedSchema schema = context.getCatalogTable().getResolvedSchema();
        List<String> columns = schema.getColumnNames();
        List<LogicalType> types =
                schema.getColumns().stream().map(Column::getDataType).map(t -> t.getLogicalType()).collect(Collectors.toList());
        ChangesWriter.Target target =
                new ChangesWriter.Target(
                        options.get(URL),
                        options.get(USERNAME),
                        options.get(PASSWORD),
                        options.get(TABLE),
                        columns,
                        types,
                        options.get(CHANGE_COLUMN),
                        options.get(BATCH_ROWS));
        return new ChangesSink(target);
    }
}
