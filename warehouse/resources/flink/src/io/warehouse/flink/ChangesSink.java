package io.warehouse.flink;

import java.io.IOException;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.data.RowData;

/** Accepts every kind of change and hands it to a {@link ChangesWriter}. */
final class ChangesSink implements DynamicTableSink {
    private final ChangesWriter.Target target;

    ChangesSink(ChangesWriter.Target target) {
        this.target = target;
    }

    @Override
    public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
        return ChangelogMode.all();
    }

    @Override
    public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
        return SinkV2Provider.of(new WriterFactory(target));
    }

    @Override
    public DynamicTableSink copy() {
        return new ChangesSink(target);
    }

    @Override
    public String asSummaryString() {
        return "warehouse-changes(" + target.table + ")";
    }

    /** The Sink V2 entry point: one writer per parallel subtask. */
    static final class WriterFactory implements Sink<RowData> {
        private static final long serialVersionUID = 1L;
        private final ChangesWriter.Target target;

        WriterFactory(ChangesWriter.Target target) {
            this.target = target;
        }

        @Override
        @SuppressWarnings("deprecation")
        public SinkWriter<RowData> createWriter(InitContext context) throws IOException {
            return new ChangesWriter(target);
        }
    }
}
