package io.warehouse.flink;

import static io.warehouse.flink.ReaderOptions.DATABASE;
import static io.warehouse.flink.ReaderOptions.HEARTBEAT;
import static io.warehouse.flink.ReaderOptions.HOSTNAME;
import static io.warehouse.flink.ReaderOptions.PASSWORD;
import static io.warehouse.flink.ReaderOptions.USERNAME;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.flink.cdc.debezium.table.DebeziumOptions;
import org.apache.flink.cdc.debezium.utils.JdbcUrlUtils;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.DataType;

/**
 * The `warehouse-mysql-database` source: every change of several tables of one MySQL database, read by
 * ONE binlog reader (one server id range, one binlog connection), routed by table (see TableRouter).
 *
 * <p>Its schema names the tables: column 0 is a STRING (the changed table's name), every other column is
 * a ROW named after a table of `database-name`, with that table's columns. The warehouse declares one such
 * source per MySQL database a job reads, and a view per table over it. Options as mysql-cdc's where they
 * share a meaning; `chunk-key.<table>` names the column a table's snapshot is split by (its key's first
 * column); `debezium.*` and `jdbc.properties.*` pass through.
 */
public final class MySqlDatabaseSourceFactory implements DynamicTableSourceFactory {
    static final ConfigOption<Integer> PORT = ConfigOptions.key("port").intType().defaultValue(3306);
    static final ConfigOption<String> SERVER_ID = ConfigOptions.key("server-id").stringType().noDefaultValue();
    static final ConfigOption<String> TIME_ZONE =
            ConfigOptions.key("server-time-zone").stringType().defaultValue("UTC");
    static final String CHUNK_KEY_PREFIX = "chunk-key.";

    @Override
    public String factoryIdentifier() {
        return "warehouse-mysql-database";
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(HOSTNAME, USERNAME, PASSWORD, DATABASE, SERVER_ID);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(PORT, TIME_ZONE, HEARTBEAT);
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validateExcept(DebeziumOptions.DEBEZIUM_OPTIONS_PREFIX, JdbcUrlUtils.PROPERTIES_PREFIX, CHUNK_KEY_PREFIX);
        ReadableConfig options = helper.getOptions();
        Map<String, String> all = context.getCatalogTable().getOptions();
        DataType rows = context.getCatalogTable().getResolvedSchema().toPhysicalRowDataType();
        RoutedTables tables = RoutedTables.of(rows, options.get(DATABASE));
        MySqlDatabaseSource.Server server =
                new MySqlDatabaseSource.Server(
                        options.get(HOSTNAME),
                        options.get(PORT),
                        options.get(USERNAME),
                        options.get(PASSWORD),
                        options.get(DATABASE),
                        options.get(SERVER_ID),
                        options.get(TIME_ZONE),
                        options.get(HEARTBEAT),
                        DebeziumOptions.getDebeziumProperties(all),
                        JdbcUrlUtils.getJdbcProperties(all),
                        chunkKeys(all, tables));
        return new MySqlDatabaseSource(server, rows, tables);
    }

    private static Map<String, String> chunkKeys(Map<String, String> options, RoutedTables tables) {
        Map<String, String> keys = new HashMap<>();
        for (Map.Entry<String, String> option : options.entrySet()) {
            if (!option.getKey().startsWith(CHUNK_KEY_PREFIX)) {
                continue;
            }
            String table = option.getKey().substring(CHUNK_KEY_PREFIX.length());
            if (!tables.names().contains(table)) {
                throw new ValidationException("option " + option.getKey() + " names a table this source does not read");
            }
            keys.put(table, option.getValue());
        }
        return keys;
    }
}
