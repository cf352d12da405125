package io.warehouse.flink;

import static io.warehouse.flink.ReaderOptions.DATABASE;
import static io.warehouse.flink.ReaderOptions.HEARTBEAT;
import static io.warehouse.flink.ReaderOptions.HOSTNAME;
import static io.warehouse.flink.ReaderOptions.PASSWORD;
import static io.warehouse.flink.ReaderOptions.USERNAME;

import java.util.Set;
import org.apache.flink.cdc.debezium.table.DebeziumOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.DataType;

/**
 * The `warehouse-postgres-database` source: every change of several tables of one PostgreSQL schema, read
 * through ONE replication slot (pgoutput, over a publication of those tables the warehouse creates),
 * routed by table (see TableRouter). Its schema is that of the MySQL one (MySqlDatabaseSourceFactory);
 * `debezium.*` options pass through (the publication's name, the poll interval).
 */
public final class PostgresDatabaseSourceFactory implements DynamicTableSourceFactory {
    static final ConfigOption<Integer> PORT = ConfigOptions.key("port").intType().defaultValue(5432);
    static final ConfigOption<String> SCHEMA = ConfigOptions.key("schema-name").stringType().noDefaultValue();
    static final ConfigOption<String> SLOT = ConfigOptions.key("slot.name").stringType().noDefaultValue();

    @Override
    public String factoryIdentifier() {
        return "warehouse-postgres-database";
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(HOSTNAME, USERNAME, PASSWORD, DATABASE, SCHEMA, SLOT);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(PORT, HEARTBEAT);
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validateExcept(DebeziumOptions.DEBEZIUM_OPTIONS_PREFIX);
        ReadableConfig options = helper.getOptions();
        DataType rows = context.getCatalogTable().getResolvedSchema().toPhysicalRowDataType();
        String schema = options.get(SCHEMA);
        RoutedTables tables = RoutedTables.of(rows, options.get(DATABASE) + "." + schema);
        PostgresDatabaseSource.Server server =
                new PostgresDatabaseSource.Server(
                        options.get(HOSTNAME),
                        options.get(PORT),
                        options.get(USERNAME),
                        options.get(PASSWORD),
                        options.get(DATABASE),
                        schema,
                        options.get(SLOT),
                        options.get(HEARTBEAT),
                        DebeziumOptions.getDebeziumProperties(context.getCatalogTable().getOptions()));
        return new PostgresDatabaseSource(server, rows, tables);
    }
}
