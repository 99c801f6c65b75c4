package io.stoker.spark.batch;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

import java.io.IOException;
import java.util.List;

/**
 * Reads one split's lines as rows of the requested columns, one line at a time (a line never stays in memory after
 * its row). Single-threaded: one Spark task.
 */
final class RequestPartitionReader implements PartitionReader<InternalRow> {
    private final LineSplit split;
    private final LineReader lines;
    private final RequestParser parser;
    private final String[] columns;
    private final boolean parse;
    private final UTF8String file;
    private InternalRow row;

    RequestPartitionReader(LineSplit split, LineReader lines, StructType readSchema, int maxLineBytes) {
        this.split = split;
        this.lines = lines;
        this.parser = new RequestParser(split.file(), maxLineBytes);
        this.columns = readSchema.fieldNames();
        boolean p = false;
        for (String c : columns) {
            p |= !c.equals(RequestSchema.FILE) && !c.equals(RequestSchema.LINE);
        }
        this.parse = p;
        this.file = UTF8String.fromString(split.file());
    }

    @Override
    public boolean next() throws IOException {
        if (!lines.next()) {
            return false;
        }
        ParsedRequest r = parse ? parser.parse(lines.bytes(), lines.length(), lines.lineBytes(), lines.lineNumber())
                : null;
        Object[] values = new Object[columns.length];
        for (int i = 0; i < columns.length; i++) {
            values[i] = value(columns[i], r);
        }
        row = new GenericInternalRow(values);
        return true;
    }

    private Object value(String column, ParsedRequest r) {
        return switch (column) {
            case RequestSchema.FILE -> file;
            case RequestSchema.LINE -> lines.lineNumber();
            case RequestSchema.CUSTOM_ID -> str(r.customId());
            case RequestSchema.METHOD -> str(r.method());
            case RequestSchema.URL -> str(r.url());
            case RequestSchema.MODEL -> str(r.model());
            case RequestSchema.MESSAGES -> messages(r.messages());
            case RequestSchema.PROMPT -> str(r.prompt());
            case RequestSchema.SAMPLING -> sampling(r.sampling());
            case RequestSchema.OTHER_FIELDS -> strings(r.otherFields());
            case RequestSchema.BODY -> str(r.body());
            case RequestSchema.LINE_ERROR -> str(r.lineError());
            case RequestSchema.BODY_ERROR -> str(r.bodyError());
            default -> throw new IllegalStateException("no column " + column + " in " + split);
        };
    }

    private static UTF8String str(String s) {
        return s == null ? null : UTF8String.fromString(s);
    }

    private static ArrayData strings(List<?> xs) {
        if (xs == null) {
            return null;
        }
        Object[] a = new Object[xs.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = UTF8String.fromString(xs.get(i).toString());
        }
        return new GenericArrayData(a);
    }

    private static ArrayData messages(List<ParsedRequest.Message> ms) {
        if (ms == null) {
            return null;
        }
        Object[] a = new Object[ms.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = new GenericInternalRow(new Object[]{str(ms.get(i).role()), str(ms.get(i).content())});
        }
        return new GenericArrayData(a);
    }

    private static InternalRow sampling(Object[] s) {
        if (s == null) {
            return null;
        }
        Object[] v = new Object[s.length];
        for (int i = 0; i < s.length; i++) {
            Object x = s[i];
            if (x instanceof List<?> l) {
                Object[] a = new Object[l.size()];
                for (int j = 0; j < a.length; j++) {
                    Object e = l.get(j);
                    a[j] = e instanceof String str ? UTF8String.fromString(str) : e;
                }
                v[i] = new GenericArrayData(a);
            } else {
                v[i] = x;
            }
        }
        return new GenericInternalRow(v);
    }

    @Override
    public InternalRow get() {
        return row;
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
