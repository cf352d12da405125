package io.warehouse.flink;

import java.io.Serializable;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Properties;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.cdc.connectors.base.options.StartupOptions;
import org.apache.flink.cdc.connectors.postgres.source.PostgresSourceBuilder.PostgresIncrementalSource;
import org.apache.flink.cdc.connectors.postgres.table.PostgreSQLDeserializationConverterFactory;
import org.apache.flink.cdc.connectors.postgres.table.PostgresValueValidator;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

/** One incremental-snapshot + pgoutput reader (Flink CDC's Postgres incremental source) over several tables. */
final class PostgresDatabaseSource extends DatabaseChangesSource {
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

    PostgresDatabaseSource(Server server, DataType rows, RoutedTables tables) {
        super(rows, tables);
        this.server = server;
    }

    @Override
    TableRouter router(TypeInformation<RowData> produced) {
        String schema = server.schema;
        return tables.router(
                produced,
                ZoneId.of("UTC"),
                PostgreSQLDeserializationConverterFactory.instance(),
                table -> new PostgresValueValidator(schema, table));
    }

    @Override
    Source<RowData, ?, ?> read(TableRouter router) {
        return PostgresIncrementalSource.<RowData>builder()
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
    }

    @Override
    String where() {
        return server.database + "." + server.schema;
    }

    @Override
    public DynamicTableSource copy() {
        return new PostgresDatabaseSource(server, rows, tables);
    }
}
