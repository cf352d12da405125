package io.warehouse.flink;

import java.io.Serializable;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.cdc.connectors.mysql.source.MySqlSource;
import org.apache.flink.cdc.connectors.mysql.source.MySqlSourceBuilder;
import org.apache.flink.cdc.connectors.mysql.table.MySqlDeserializationConverterFactory;
import org.apache.flink.cdc.connectors.mysql.table.StartupOptions;
import org.apache.flink.cdc.debezium.table.RowDataDebeziumDeserializeSchema.ValueValidator;
import org.apache.flink.table.catalog.ObjectPath;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

/** One incremental-snapshot + binlog reader (Flink CDC's MySqlSource) over several tables of a database. */
final class MySqlDatabaseSource extends DatabaseChangesSource {
    /** Where and how to read: the server, the reader's server ids, the pass-through properties. */
    static final class Server implements Serializable {
        private static final long serialVersionUID = 1L;
        final String hostname;
        final int port;
        final String username;
        final String password;
        final String database;
        final String serverId;
        final String timeZone;
        final Duration heartbeat;
        final Properties debezium;
        final Properties jdbc;
        final Map<String, String> chunkKeys;

        Server(
                String hostname,
                int port,
                String username,
                String password,
                String database,
                String serverId,
                String timeZone,
                Duration heartbeat,
                Properties debezium,
                Properties jdbc,
                Map<String, String> chunkKeys) {
            this.hostname = hostname;
            this.port = port;
            this.username = username;
            this.password = password;
            this.database = database;
            this.serverId = serverId;
            this.timeZone = timeZone;
            this.heartbeat = heartbeat;
            this.debezium = debezium;
            this.jdbc = jdbc;
            this.chunkKeys = chunkKeys;
        }
    }

    private static final ValueValidator NO_CHECK = (row, kind) -> {};

    private final Server server;

    MySqlDatabaseSource(Server server, DataType rows, RoutedTables tables) {
        super(rows, tables);
        this.server = server;
    }

    @Override
    TableRouter router(TypeInformation<RowData> produced) {
        ZoneId zone = ZoneId.of(server.timeZone);
        return tables.router(produced, zone, MySqlDeserializationConverterFactory.instance(), table -> NO_CHECK);
    }

    @Override
    Source<RowData, ?, ?> read(TableRouter router) {
        MySqlSourceBuilder<RowData> builder =
                MySqlSource.<RowData>builder()
                        .hostname(server.hostname)
                        .port(server.port)
                        .username(server.username)
                        .password(server.password)
                        .databaseList(server.database)
                        .tableList(tables.qualified(server.database))
                        .serverId(server.serverId)
                        .serverTimeZone(server.timeZone)
                        .heartbeatInterval(server.heartbeat)
                        .debeziumProperties(server.debezium)
                        .jdbcProperties(server.jdbc)
                        .startupOptions(StartupOptions.initial())
                        .deserializer(router);
        for (Map.Entry<String, String> key : server.chunkKeys.entrySet()) {
            builder.chunkKeyColumn(new ObjectPath(server.database, key.getKey()), key.getValue());
        }
        return new SnapshotReportingSource<>(builder.build(), server.database, tables.names());
    }

    @Override
    String where() {
        return server.database;
    }

    @Override
    public DynamicTableSource copy() {
        return new MySqlDatabaseSource(server, rows, tables);
    }
}
