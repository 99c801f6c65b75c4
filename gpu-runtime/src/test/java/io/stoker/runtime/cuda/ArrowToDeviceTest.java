package io.stoker.runtime.cuda;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
class ArrowToDeviceTest {
    private final BufferAllocator allocator = new RootAllocator();

    @AfterEach
    void closeAllocator() {
        allocator.close();
    }

    @Test
    void shouldCopyFixedWidthColumnsWithNullsAndRunAKernelOnThem() {
        int rows = 37;
        try (IntVector ids = new IntVector("id", allocator); Float4Vector score = new Float4Vector("score", allocator);
             BigIntVector big = new BigIntVector("big", allocator);
             FixedSizeListVector emb = FixedSizeListVector.empty("emb", 3, allocator)) {
            emb.addOrGetVector(FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)));
            Float4Vector embValues = (Float4Vector) emb.getDataVector();
            ids.allocateNew(rows);
            score.allocateNew(rows);
            big.allocateNew(rows);
            emb.allocateNew();
            for (int i = 0; i < rows; i++) {
                ids.set(i, i * 10);
                if (i % 5 == 0) {
                    score.setNull(i);
                } else {
                    score.set(i, i * 0.25f);
                }
                big.set(i, (long) i << 33);
                emb.setNotNull(i);
                for (int j = 0; j < 3; j++) {
                    embValues.setSafe(i * 3 + j, i + j / 10f);
                }
            }
            ids.setValueCount(rows);
            score.setValueCount(rows);
            big.setValueCount(rows);
            emb.setValueCount(rows);
            embValues.setValueCount(rows * 3);
            try (VectorSchemaRoot root = new VectorSchemaRoot(List.of(ids.getField(), score.getField(), big.getField(),
                    emb.getField()), List.of(ids, score, big, emb), rows);
                 CudaDevice d = CudaDevice.open(0, CudaTestSupport.config());
                 DeviceBatch batch = ArrowToDevice.upload(d, root, d.stream())) {
                assertThat(batch.rowCount()).isEqualTo(rows);
                DeviceColumn s = batch.column("score");
                assertThat(s.nullCount()).isEqualTo(8);
                assertThat(s.validity()).isNotNull();
                assertThat(batch.column("id").validity()).isNull();
                // scale the scores on the device, then read every column back
                d.module(CudaTestSupport.checks()).function("scale").launch(d.stream(), LaunchConfig.of(2, 32),
                        new KernelArgs().ptr(s.data()).f32(4f).i64(rows));
                d.stream().synchronize();
                int[] gotIds = new int[rows];
                batch.column("id").data().copyTo(gotIds);
                float[] gotScore = new float[rows];
                s.data().copyTo(gotScore);
                long[] gotBig = new long[rows];
                batch.column("big").data().copyTo(gotBig);
                float[] gotEmb = new float[rows * 3];
                DeviceColumn e = batch.column("emb");
                assertThat(e.listSize()).isEqualTo(3);
                e.data().copyTo(gotEmb);
                byte[] valid = new byte[(rows + 7) / 8];
                s.validity().copyTo(valid, 0, valid.length, 0);
                for (int i = 0; i < rows; i++) {
                    assertThat(gotIds[i]).isEqualTo(i * 10);
                    assertThat(gotBig[i]).isEqualTo((long) i << 33);
                    boolean isValid = (valid[i / 8] >> (i % 8) & 1) == 1;
                    assertThat(isValid).as("validity of row %d", i).isEqualTo(i % 5 != 0);
                    if (isValid) {
                        assertThat(gotScore[i]).isEqualTo(i * 0.25f * 4f);
                    }
                    for (int j = 0; j < 3; j++) {
                        assertThat(gotEmb[i * 3 + j]).isEqualTo(i + j / 10f);
                    }
                }
            }
        }
    }

    @Test
    void shouldRejectAVariableWidthColumnByName() {
        try (VarCharVector text = new VarCharVector("text", allocator)) {
            text.allocateNew();
            text.setSafe(0, "a".getBytes(StandardCharsets.UTF_8));
            text.setValueCount(1);
            try (VectorSchemaRoot root = new VectorSchemaRoot(List.of(text.getField()), List.of(text), 1);
                 CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
                assertThatThrownBy(() -> ArrowToDevice.upload(d, root, d.stream()))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("column 'text'")
                        .hasMessageContaining("not fixed-width");
                assertThat(d.memory().inUse()).isZero();
            }
        }
    }
}
