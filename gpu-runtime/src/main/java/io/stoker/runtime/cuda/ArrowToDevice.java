package io.stoker.runtime.cuda;

import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;

import java.util.ArrayList;
import java.util.List;

/**
 * Copies the fixed-width columns of an Arrow batch (ints, floats, dates, timestamps, decimals, booleans, and
 * fixed-size lists of those, e.g. embeddings) to device buffers, asynchronously on a stream. Arrow memory is
 * pageable, so the driver stages each copy before the call returns: the batch may be released right away, and the
 * device buffers are ready once the stream has run the copies.
 */
public final class ArrowToDevice {
    private ArrowToDevice() {
    }

    /**
     * @throws IllegalArgumentException naming the first column that is not fixed-width (e.g. a string column)
     */
    public static DeviceBatch upload(CudaDevice device, VectorSchemaRoot root, CudaStream stream) {
        int rows = root.getRowCount();
        List<DeviceColumn> out = new ArrayList<>();
        try {
            for (FieldVector v : root.getFieldVectors()) {
                out.add(column(device, v, rows, stream));
            }
        } catch (RuntimeException e) {
            new DeviceBatch(rows, out).close();
            throw e;
        }
        return new DeviceBatch(rows, out);
    }

    private static DeviceColumn column(CudaDevice device, FieldVector v, int rows, CudaStream stream) {
        String name = v.getField().getName();
        FieldVector values = v;
        int listSize = 1;
        if (v instanceof FixedSizeListVector list) {
            values = list.getDataVector();
            listSize = list.getListSize();
            if (!(values instanceof BaseFixedWidthVector) || values instanceof BitVector) {
                throw new IllegalArgumentException("column '" + name + "' is a fixed-size list of "
                        + values.getField().getType() + "; only lists of fixed-width numbers go to the device");
            }
        } else if (!(v instanceof BaseFixedWidthVector)) {
            throw new IllegalArgumentException("column '" + name + "' of type " + v.getField().getType()
                    + " is not fixed-width; only fixed-width columns (numbers, dates, booleans, fixed-size lists) "
                    + "go to the device: drop it or encode it first");
        }
        boolean bits = values instanceof BitVector;
        int width = bits ? 0 : ((BaseFixedWidthVector) values).getTypeWidth();
        long count = (long) rows * listSize;
        long dataBytes = bits ? (count + 7) / 8 : count * width;
        DeviceBuffer data = device.allocate(Math.max(1, dataBytes), "arrow:" + name);
        DeviceBuffer validity = null;
        try {
            if (dataBytes > 0) {
                data.copyFromHostAsync(values.getDataBuffer().memoryAddress(), 0, dataBytes, stream);
            }
            int nulls = v.getNullCount();
            if (nulls > 0) {
                long vb = (rows + 7) / 8;
                validity = device.allocate(vb, "arrow:" + name + ":validity");
                validity.copyFromHostAsync(v.getValidityBuffer().memoryAddress(), 0, vb, stream);
            }
            return new DeviceColumn(name, v.getField().getType(), rows, width, listSize, data, validity, nulls);
        } catch (RuntimeException e) {
            data.close();
            if (validity != null) {
                validity.close();
            }
            throw e;
        }
    }
}
