package io.stoker.runtime.cuda;

import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * One Arrow column on the device: its values buffer laid out as Arrow's ({@code valueCount} values of
 * {@code byteWidth} bytes; for a fixed-size list, {@code valueCount * listSize} child values) and, when the column
 * has nulls, Arrow's validity bitmap (bit i of byte i/8 set = row i valid).
 *
 * @param name       column name
 * @param type       Arrow type of the column
 * @param valueCount rows
 * @param byteWidth  bytes per value (per child value for a fixed-size list; 0 for booleans, which are bits)
 * @param listSize   values per row of a fixed-size list, else 1
 * @param data       the values
 * @param validity   the validity bitmap, or null when the column has no nulls
 * @param nullCount  rows that are null
 */
public record DeviceColumn(String name, ArrowType type, int valueCount, int byteWidth, int listSize, DeviceBuffer data,
                           DeviceBuffer validity, int nullCount) {
}
