package io.warehouse.flink;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.cdc.connectors.mysql.source.MySqlSource;
import org.apache.flink.cdc.connectors.mysql.source.assigners.state.BinlogPendingSplitsState;
import org.apache.flink.cdc.connectors.mysql.source.assigners.state.HybridPendingSplitsState;
import org.apache.flink.cdc.connectors.mysql.source.assigners.state.PendingSplitsState;
import org.apache.flink.cdc.connectors.mysql.source.split.MySqlSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.SplitEnumeratorMetricGroup;

/**
 * Flink CDC's MySqlSource, reporting when its snapshot ended, which it does not publish itself (its
 * Postgres twin does). The binlog split is assigned only once every snapshot split has been read and
 * reported finished (at the first checkpoint after the last one), so that assignment is the end of the
 * snapshot: from then on, each table's `snapshotEndTime` gauge (in the coordinator's metrics, under
 * `namespace.<database>.table.<name>`, as the Postgres source names them) holds the time it happened; 0 before.
 */
final class SnapshotReportingSource<T>
        implements Source<T, MySqlSplit, PendingSplitsState>, ResultTypeQueryable<T> {
    private static final long serialVersionUID = 1L;

    private final MySqlSource<T> source;
    private final String database;
    private final List<String> tables;

    SnapshotReportingSource(MySqlSource<T> source, String database, List<String> tables) {
        this.source = source;
        this.database = database;
        this.tables = tables;
    }

    @Override
    public Boundedness getBoundedness() {
        return source.getBoundedness();
    }

    @Override
    public SourceReader<T, MySqlSplit> createReader(SourceReaderContext context) throws Exception {
        return source.createReader(context);
    }

    @Override
    public SplitEnumerator<MySqlSplit, PendingSplitsState> createEnumerator(SplitEnumeratorContext<MySqlSplit> context) {
        return source.createEnumerator(new Reporting(context, database, tables, false));
    }

    @Override
    public SplitEnumerator<MySqlSplit, PendingSplitsState> restoreEnumerator(
            SplitEnumeratorContext<MySqlSplit> context, PendingSplitsState state) {
        return source.restoreEnumerator(new Reporting(context, database, tables, snapshotEnded(state)), state);
    }

    private static boolean snapshotEnded(PendingSplitsState state) {
        return state instanceof BinlogPendingSplitsState
                || (state instanceof HybridPendingSplitsState
                        && ((HybridPendingSplitsState) state).isBinlogSplitAssigned());
    }

    @Override
    public SimpleVersionedSerializer<MySqlSplit> getSplitSerializer() {
        return source.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<PendingSplitsState> getEnumeratorCheckpointSerializer() {
        return source.getEnumeratorCheckpointSerializer();
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return source.getProducedType();
    }

    /** The enumerator's context, noting the binlog split's assignment. */
    private static final class Reporting implements SplitEnumeratorContext<MySqlSplit> {
        private final SplitEnumeratorContext<MySqlSplit> context;
        private volatile long snapshotEnded;

        Reporting(SplitEnumeratorContext<MySqlSplit> context, String database, List<String> tables, boolean ended) {
            this.context = context;
            this.snapshotEnded = ended ? System.currentTimeMillis() : 0L;
            MetricGroup namespace = context.metricGroup().addGroup("namespace", database);
            for (String table : tables) {
                namespace.addGroup("table", table).gauge("snapshotEndTime", () -> snapshotEnded);
            }
        }

        @Override
        public void assignSplits(SplitsAssignment<MySqlSplit> assignment) {
            boolean binlog =
                    assignment.assignment().values().stream().flatMap(List::stream).anyMatch(MySqlSplit::isBinlogSplit);
            if (binlog && snapshotEnded == 0L) {
                snapshotEnded = System.currentTimeMillis();
            }
            context.assignSplits(assignment);
        }

        @Override
        public SplitEnumeratorMetricGroup metricGroup() {
            return context.metricGroup();
        }

        @Override
        public void sendEventToSourceReader(int subtask, SourceEvent event) {
            context.sendEventToSourceReader(subtask, event);
        }

        @Override
        public void sendEventToSourceReader(int subtask, int attempt, SourceEvent event) {
            context.sendEventToSourceReader(subtask, attempt, event);
        }

        @Override
        public int currentParallelism() {
            return context.currentParallelism();
        }

        @Override
        public Map<Integer, ReaderInfo> registeredReaders() {
            return context.registeredReaders();
        }

        @Override
        public Map<Integer, Map<Integer, ReaderInfo>> registeredReadersOfAttempts() {
            return context.registeredReadersOfAttempts();
        }

        @Override
        public void signalNoMoreSplits(int subtask) {
            context.signalNoMoreSplits(subtask);
        }

        @Override
        public <V> void callAsync(Callable<V> callable, BiConsumer<V, Throwable> handler) {
            context.callAsync(callable, handler);
        }

        @Override
        public <V> void callAsync(Callable<V> callable, BiConsumer<V, Throwable> handler, long delay, long period) {
            context.callAsync(callable, handler, delay, period);
        }

        @Override
        public void runInCoordinatorThread(Runnable runnable) {
            context.runInCoordinatorThread(runnable);
        }

        @Override
        public void setIsProcessingBacklog(boolean backlog) {
            context.setIsProcessingBacklog(backlog);
        }
    }
}
