package io.warehouse.flink;

import java.io.Serializable;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.cdc.debezium.table.DeserializationRuntimeConverterFactory;
import org.apache.flink.cdc.debezium.table.RowDataDebeziumDeserializeSchema;
import org.apache.flink.cdc.debezium.table.RowDataDebeziumDeserializeSchema.ValueValidator;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

/** The tables of a routed schema (see TableRouter): column 0 a STRING, then one ROW column per table. */
final class RoutedTables implements Serializable {
    private static final long serialVersionUID = 1L;

    private final List<String> names;
    private final List<RowType> rowTypes;

    private RoutedTables(List<String> names, List<RowType> rowTypes) {
        this.names = Collections.unmodifiableList(names);
        this.rowTypes = Collections.unmodifiableList(rowTypes);
    }

    static RoutedTables of(DataType rows, String where) {
        RowType schema = (RowType) rows.getLogicalType();
        if (schema.getFieldCount() < 2 || !schema.getTypeAt(0).is(LogicalTypeRoot.VARCHAR)) {
            throw new ValidationException(
                    "a routed source over " + where + " needs a STRING column first (the table), then a ROW per table");
        }
        List<String> names = new ArrayList<>();
        List<RowType> rowTypes = new ArrayList<>();
        for (RowType.RowField field : schema.getFields().subList(1, schema.getFieldCount())) {
            if (!field.getType().is(LogicalTypeRoot.ROW)) {
                throw new ValidationException(
                        "column " + field.getName() + " of a routed source over " + where + " is not a ROW of a table");
            }
            names.add(field.getName());
            rowTypes.add((RowType) field.getType());
        }
        return new RoutedTables(names, rowTypes);
    }

    /**
     * Flink CDC's own decoder for each table (as its single-table connector builds it), producing the
     * routed type; `validators` gives a table's value validator (PostgreSQL checks REPLICA IDENTITY FULL).
     */
    TableRouter router(
            TypeInformation<RowData> produced,
            ZoneId serverTimeZone,
            DeserializationRuntimeConverterFactory converters,
            Function<String, ValueValidator> validators) {
        List<RowDataDebeziumDeserializeSchema> decoders = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            decoders.add(
                    RowDataDebeziumDeserializeSchema.newBuilder()
                            .setPhysicalRowType(rowTypes.get(i))
                            .setResultTypeInfo(produced)
                            .setServerTimeZone(serverTimeZone)
                            .setUserDefinedConverterFactory(converters)
                            .setValueValidator(validators.apply(names.get(i)))
                            .build());
        }
        return new TableRouter(names, decoders, produced);
    }

    List<String> names() {
        return names;
    }

    /** The Debezium table-list entries of these tables: `<prefix>.<table>`, each a regex matching one table. */
    String[] qualified(String prefix) {
        return names.stream().map(name -> quote(prefix) + "\\." + quote(name)).toArray(String[]::new);
    }

    private static String quote(String name) {
        return name.replaceAll("([^A-Za-z0-9_])", "\\\\$1");
    }
}
