package io.stoker.spark.sql;

import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

import java.util.List;

/** Compares a graph's output batch schema with the declared one: names, order and Arrow types (not nullability). */
final class SchemaCheck {
    private SchemaCheck() {
    }

    /** @return null when {@code actual} matches {@code expected}, else what differs first */
    static String mismatch(Schema expected, Schema actual) {
        return mismatch(expected.getFields(), actual.getFields(), "", true);
    }

    private static String mismatch(List<Field> expected, List<Field> actual, String prefix, boolean checkNames) {
        if (expected.size() != actual.size()) {
            return (prefix.isEmpty() ? "the batch" : "field " + prefix) + " has " + actual.size() + " column(s) "
                    + names(actual) + " but " + expected.size() + " are declared " + names(expected);
        }
        for (int i = 0; i < expected.size(); i++) {
            Field e = expected.get(i);
            Field a = actual.get(i);
            String path = prefix + e.getName();
            if (checkNames && !e.getName().equals(a.getName())) {
                return "column " + i + " is named '" + prefix + a.getName() + "' but '" + path + "' is declared";
            }
            if (!e.getType().equals(a.getType())) {
                return "column '" + path + "' has Arrow type " + a.getType() + " but " + e.getType()
                        + " is declared";
            }
            // List and map children carry implementation names ("element", "$data$"); only struct fields must match.
            boolean struct = e.getType() instanceof org.apache.arrow.vector.types.pojo.ArrowType.Struct;
            String nested = mismatch(e.getChildren(), a.getChildren(), path + ".", struct);
            if (nested != null) {
                return nested;
            }
        }
        return null;
    }

    private static String names(List<Field> fs) {
        StringBuilder b = new StringBuilder("[");
        for (Field f : fs) {
            b.append(b.length() > 1 ? ", " : "").append(f.getName());
        }
        return b.append(']').toString();
    }
}
