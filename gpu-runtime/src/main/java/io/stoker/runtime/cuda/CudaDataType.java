package io.stoker.runtime.cuda;

/** Element types as cuBLAS and NCCL name them ({@code cudaDataType_t} codes), with their sizes. */
public enum CudaDataType {
    F32(0, 4, 7),
    F64(1, 8, 8),
    F16(2, 2, 6),
    BF16(14, 2, 9),
    I8(3, 1, 0),
    I32(10, 4, 2);

    private final int code;
    private final int bytes;
    private final int ncclCode;

    CudaDataType(int code, int bytes, int ncclCode) {
        this.code = code;
        this.bytes = bytes;
        this.ncclCode = ncclCode;
    }

    /** @return the {@code cudaDataType_t} value */
    public int code() {
        return code;
    }

    public int bytes() {
        return bytes;
    }

    /** @return the {@code ncclDataType_t} value */
    public int ncclCode() {
        return ncclCode;
    }
}
