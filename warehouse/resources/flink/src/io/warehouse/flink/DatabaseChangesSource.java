package io.warehouse.flink;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

/** A Flink CDC incremental source over several tables, producing routed rows (see TableRouter): every change. */
abstract class DatabaseChangesSource implements ScanTableSource {
    final DataType rows;
    final RoutedTables tables;

    DatabaseChangesSource(DataType rows, RoutedTables tables) {
        this.rows = rows;
        this.tables = tables;
    }

    /** The CDC source that reads the tables, decoding them with `router`. */
    abstract Source<RowData, ?, ?> read(TableRouter router);

    /** The routed rows' decoder of these tables, as the single-table connector of this database decodes them. */
    abstract TableRouter router(TypeInformation<RowData> produced);

    /** What it reads, for the job's plan: `<database>: <table>, ...`. */
    abstract String where();

    @Override
    public ChangelogMode getChangelogMode() {
        return ChangelogMode.all();
    }

    @Override
    public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
        return SourceProvider.of(read(router(context.createTypeInformation(rows))));
    }

    @Override
    public String asSummaryString() {
        return getClass().getSimpleName() + "(" + where() + ": " + String.join(", ", tables.names()) + ")";
    }
}
