package io.warehouse.flink;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.cdc.connectors.shaded.org.apache.kafka.connect.data.Struct;
import org.apache.flink.cdc.connectors.shaded.org.apache.kafka.connect.source.SourceRecord;
import org.apache.flink.cdc.debezium.DebeziumDeserializationSchema;
import org.apache.flink.cdc.debezium.table.RowDataDebeziumDeserializeSchema;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.types.RowKind;
import org.apache.flink.util.Collector;

/**
 * Turns the changes of several tables, read by one change-log reader, into rows of one routed shape:
 * `(table STRING, <table 1> ROW<...>, <table 2> ROW<...>, ...)`. A change of table N fills column 0 with
 * its name and column N with its row (decoded by Flink CDC's own per-table deserializer, so every type
 * reads as in the single-table connector); the other tables' columns stay NULL. The change's kind is the
 * routed row's kind.
 */
final class TableRouter implements DebeziumDeserializationSchema<RowData> {
    private static final long serialVersionUID = 1L;

    private final Map<String, Integer> positions = new HashMap<>();
    private final RowDataDebeziumDeserializeSchema[] decoders;
    private final TypeInformation<RowData> produced;

    TableRouter(List<String> tables, List<RowDataDebeziumDeserializeSchema> decoders, TypeInformation<RowData> produced) {
        this.produced = produced;
        this.decoders = decoders.toArray(new RowDataDebeziumDeserializeSchema[0]);
        for (int i = 0; i < tables.size(); i++) {
            positions.put(tables.get(i), i);
        }
    }

    @Override
    public void deserialize(SourceRecord record, Collector<RowData> out) throws Exception {
        String table = ((Struct) record.value()).getStruct("source").getString("table");
        Integer position = positions.get(table);
        if (position == null) {
            throw new IllegalStateException(
                    "a change of table " + table + ", which this reader does not route (topic " + record.topic() + ")");
        }
        decoders[position].deserialize(record, new Routed(out, table, position + 1, decoders.length + 1));
    }

    @Override
    public TypeInformation<RowData> getProducedType() {
        return produced;
    }

    /** Wraps each decoded row into the routed shape. */
    private static final class Routed implements Collector<RowData> {
        private final Collector<RowData> out;
        private final StringData table;
        private final int column;
        private final int width;

        Routed(Collector<RowData> out, String table, int column, int width) {
            this.out = out;
            this.table = StringData.fromString(table);
            this.column = column;
            this.width = width;
        }

        @Override
        public void collect(RowData row) {
            GenericRowData routed = new GenericRowData(row.getRowKind(), width);
            routed.setField(0, table);
            row.setRowKind(RowKind.INSERT);
            routed.setField(column, row);
            out.collect(routed);
        }

        @Override
        public void close() {}
    }
}
