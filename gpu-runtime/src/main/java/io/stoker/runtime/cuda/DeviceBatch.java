package io.stoker.runtime.cuda;

import java.util.List;

/**
 * A record batch's fixed-width columns on the device. Closing it frees their device buffers.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class DeviceBatch implements AutoCloseable {
    private final int rowCount;
    private final List<DeviceColumn> columns;

    DeviceBatch(int rowCount, List<DeviceColumn> columns) {
        this.rowCount = rowCount;
        this.columns = List.copyOf(columns);
    }

    public int rowCount() {
        return rowCount;
    }

    public List<DeviceColumn> columns() {
        return columns;
    }

    /** @throws IllegalArgumentException naming the columns there are */
    public DeviceColumn column(String name) {
        for (DeviceColumn c : columns) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("no column '" + name + "' in the device batch; it has "
                + columns.stream().map(DeviceColumn::name).toList());
    }

    @Override
    public void close() {
        for (DeviceColumn c : columns) {
            c.data().close();
            if (c.validity() != null) {
                c.validity().close();
            }
        }
    }
}
