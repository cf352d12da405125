package io.warehouse.flink;

import java.io.Serializable;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Properties;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.cdc.connectors.base.options.StartupOptions;
import org.apache.flink.cdc.connectors.postgres.source.PostgresSourceBuilder.PostgresIncrementalSource;
import org.apache.flink.cdc.connectors.postgres.table.PostgreSQLDeserializationConverterFactory;
import org.apache.flink.cdc.connectors.postgres.table.PostgresValueValidator;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

/** One incremental-snapshot + pgoutput reader (Flink CDC's Postgres incremental source) over several tables. */
final class PostgresDatabaseSource implements ScanTableSource {
    /** Where and how to read: the server, the schema, the slot, the pass-through Debezium properties. */
    static final class Server implements Serializable {
        private static final long serialVersionUID = 1L;
        final String hostname;
        final int port;
        final String username;
        final String password;
        final String database;
        final String schema;
        final String slot;
        final Duration heartbeat;
        final Properties debezium;

        Server(
                String hostname,
                int port,
                String username,
                String password,
                String database,
                String schema,
                String slot,
                Duration heartbeat,
                Properties debezium) {
            this.hostname = hostname;
            this.port = port;
            this.username = username;
            this.password = password;
            this.database = database;
            this.schema = schema;
            this.slot = slot;
            this.heartbeat = heartbeat;
            this.debezium = debezium;
        }
    }

    private final Server server;
    private final DataType rows;
    private final RoutedTables tables;

    PostgresDatabaseSource(Server server, DataType rows, RoutedTables tables) {
        this.server = server;
        this.rows = rows;
        this.tables = tables;
    }

    @Override
    public ChangelogMode getChangelogMode() {
        return ChangelogMode.all();
    }

    @Override
    public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
        TypeInformation<RowData> produced = context.createTypeInformation(rows);
        String schema = server.schema;
        TableRouter router =
                tables.router(
                        produced,
                        ZoneId.of("UTC"),
                        PostgreSQLDeserializationConverterFactory.instance(),
                        table -> new PostgresValueValidator(schema, table));
        PostgresIncrementalSource<RowData> source =
                PostgresIncrementalSource.<RowData>builder()
                        .hostname(server.hostname)
                        .port(server.port)
                        .database(server.database)
                        .schemaList(server.schema)
                        .tableList(tables.qualified(server.schema))
                        .username(server.username)
                        .password(server.password)
                        .slotName(server.slot)
                        .decodingPluginName("pgoutput")
                        .heartbeatInterval(server.heartbeat)
                        .debeziumProperties(server.debezium)
                        .startupOptions(StartupOptions.initial())
                        .deserializer(router)
                        .build();
        return SourceProvider.of(source);
    }

    @Override
    public DynamicTableSource copy() {
        return new PostgresDatabaseSource(server, rows, tables);
    }

    @Override
    public String asSummaryString() {
        return "warehouse-postgres-database(" + server.schema + ": " + String.join(", ", tables.names()) + ")";
    }
}
