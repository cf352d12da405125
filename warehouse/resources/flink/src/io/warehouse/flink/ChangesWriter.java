package io.warehouse.flink;

import static org.apache.flink.table.types.logical.utils.LogicalTypeChecks.getPrecision;

import java.io.IOException;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;

/**
 * Writes each change as `INSERT INTO table (columns..., change) VALUES (...) ON CONFLICT DO NOTHING`,
 * batched, committed when the batch is full and whenever Flink flushes (before every checkpoint).
 */
final class ChangesWriter implements SinkWriter<RowData> {

    /** Where and what to write; column names are plain identifiers chosen by the warehouse compiler. */
    static final class Target implements Serializable {
        private static final long serialVersionUID = 1L;
        final String url;
        final String username;
        final String password;
        final String table;
        final List<String> columns;
        final List<LogicalType> types;
        final String changeColumn;
        final int batchRows;

        Target(String url, String username, String password, String table, List<String> columns,
                List<LogicalType> types, String changeColumn, int batchRows) {
            this.url = url;
            this.username = username;
            this.password = password;
            this.table = table;
            this.columns = List.copyOf(columns);
            this.types = List.copyOf(types);
            this.changeColumn = changeColumn;
            this.batchRows = batchRows;
        }
    }

    private final Target target;
    private final Connection connection;
    private final PreparedStatement insert;
    private int pending;

    ChangesWriter(Target target) throws IOException {
        this.target = target;
        try {
            connection = DriverManager.getConnection(target.url, target.username, target.password);
            connection.setAutoCommit(false);
            insert = connection.prepareStatement(statement(target));
        } catch (SQLException e) {
            throw new IOException("warehouse-changes cannot connect to " + target.table + ": " + e.getMessage(), e);
        }
    }

    private static String statement(Target target) {
        String names = String.join(", ", target.columns) + ", " + target.changeColumn;
        String marks = target.columns.stream().map(c -> "?").collect(Collectors.joining(", "));
        return "INSERT INTO " + target.table + " (" + names + ") VALUES (" + marks + ", ?) ON CONFLICT DO NOTHING";
    }

    @Override
    public void write(RowData row, Context context) throws IOException {
        try {
            for (int i = 0; i < target.columns.size(); i++) {
                bind(i + 1, row, i, target.types.get(i));
            }
            insert.setString(target.columns.size() + 1, row.getRowKind().shortString());
            insert.addBatch();
            if (++pending >= target.batchRows) {
                commit();
            }
        } catch (SQLException e) {
            throw new IOException("warehouse-changes cannot write to " + target.table + ": " + e.getMessage(), e);
        }
    }

    private void bind(int parameter, RowData row, int field, LogicalType type) throws SQLException {
        if (row.isNullAt(field)) {
            insert.setNull(parameter, Types.OTHER);
            return;
        }
        LogicalTypeRoot root = type.getTypeRoot();
        switch (root) {
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                Timestamp instant = Timestamp.from(row.getTimestamp(field, getPrecision(type)).toInstant());
                insert.setTimestamp(parameter, instant);
                break;
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                insert.setObject(parameter, row.getTimestamp(field, getPrecision(type)).toLocalDateTime());
                break;
            case BIGINT:
                insert.setLong(parameter, row.getLong(field));
                break;
            case INTEGER:
                insert.setInt(parameter, row.getInt(field));
                break;
            case CHAR:
            case VARCHAR:
                insert.setString(parameter, row.getString(field).toString());
                break;
            default:
                throw new SQLException("warehouse-changes does not write columns of type " + type);
        }
    }

    private void commit() throws SQLException {
        if (pending > 0) {
            insert.executeBatch();
            connection.commit();
            pending = 0;
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException {
        try {
            commit();
        } catch (SQLException e) {
            throw new IOException("warehouse-changes cannot commit to " + target.table + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws SQLException {
        try {
            commit();
        } finally {
            connection.close();
        }
    }
}
