/*
 * Hand-declared subset of the CUDA driver, cuBLAS, cuBLASLt, NVRTC and NCCL APIs that Stoker's shim calls.
 * No CUDA header is needed to build the shim: the types below mirror the ABI of CUDA 12 and 13 (x86-64 Linux),
 * and every function is reached through a pointer looked up with dlsym.
 *
 * Symbols carry the ABI names that CUDA 12's headers map to (cuMemAlloc -> cuMemAlloc_v2, ...). A driver of a
 * later major exports them too, for old binaries.
 */
#ifndef STOKER_CUDA_DECLS_H
#define STOKER_CUDA_DECLS_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ driver API */
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
/* CUipcMemHandle: 64 opaque bytes, passed by value. */
typedef struct { char reserved[64]; } CUipcMemHandle;

#define CUDA_SUCCESS 0
#define CUDA_ERROR_NOT_READY 600
#define CUDA_ERROR_INVALID_VALUE 1

typedef CUresult (*cuGetErrorName_t)(CUresult, const char **);
typedef CUresult (*cuGetErrorString_t)(CUresult, const char **);
typedef CUresult (*cuInit_t)(unsigned int);
typedef CUresult (*cuDriverGetVersion_t)(int *);
typedef CUresult (*cuDeviceGetCount_t)(int *);
typedef CUresult (*cuDeviceGet_t)(CUdevice *, int);
typedef CUresult (*cuDeviceGetName_t)(char *, int, CUdevice);
typedef CUresult (*cuDeviceGetAttribute_t)(int *, int, CUdevice);
typedef CUresult (*cuDeviceTotalMem_t)(size_t *, CUdevice);
typedef CUresult (*cuDevicePrimaryCtxRetain_t)(CUcontext *, CUdevice);
typedef CUresult (*cuDevicePrimaryCtxRelease_t)(CUdevice);
typedef CUresult (*cuDevicePrimaryCtxReset_t)(CUdevice);
typedef CUresult (*cuCtxSetCurrent_t)(CUcontext);
typedef CUresult (*cuCtxGetCurrent_t)(CUcontext *);
typedef CUresult (*cuCtxSynchronize_t)(void);
typedef CUresult (*cuMemGetInfo_t)(size_t *, size_t *);
typedef CUresult (*cuMemAlloc_t)(CUdeviceptr *, size_t);
typedef CUresult (*cuMemFree_t)(CUdeviceptr);
typedef CUresult (*cuMemHostAlloc_t)(void **, size_t, unsigned int);
typedef CUresult (*cuMemFreeHost_t)(void *);
typedef CUresult (*cuMemcpyHtoD_t)(CUdeviceptr, const void *, size_t);
typedef CUresult (*cuMemcpyDtoH_t)(void *, CUdeviceptr, size_t);
typedef CUresult (*cuMemcpyDtoD_t)(CUdeviceptr, CUdeviceptr, size_t);
typedef CUresult (*cuMemcpyHtoDAsync_t)(CUdeviceptr, const void *, size_t, CUstream);
typedef CUresult (*cuMemcpyDtoHAsync_t)(void *, CUdeviceptr, size_t, CUstream);
typedef CUresult (*cuMemcpyDtoDAsync_t)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
typedef CUresult (*cuMemsetD8Async_t)(CUdeviceptr, unsigned char, size_t, CUstream);
typedef CUresult (*cuMemsetD32Async_t)(CUdeviceptr, unsigned int, size_t, CUstream);
typedef CUresult (*cuStreamCreate_t)(CUstream *, unsigned int);
typedef CUresult (*cuStreamDestroy_t)(CUstream);
typedef CUresult (*cuStreamSynchronize_t)(CUstream);
typedef CUresult (*cuStreamQuery_t)(CUstream);
typedef CUresult (*cuStreamWaitEvent_t)(CUstream, CUevent, unsigned int);
typedef CUresult (*cuEventCreate_t)(CUevent *, unsigned int);
typedef CUresult (*cuEventDestroy_t)(CUevent);
typedef CUresult (*cuEventRecord_t)(CUevent, CUstream);
typedef CUresult (*cuEventSynchronize_t)(CUevent);
typedef CUresult (*cuEventQuery_t)(CUevent);
typedef CUresult (*cuEventElapsedTime_t)(float *, CUevent, CUevent);
typedef CUresult (*cuModuleLoadData_t)(CUmodule *, const void *);
typedef CUresult (*cuModuleUnload_t)(CUmodule);
typedef CUresult (*cuModuleGetFunction_t)(CUfunction *, CUmodule, const char *);
typedef CUresult (*cuFuncGetAttribute_t)(int *, int, CUfunction);
typedef CUresult (*cuFuncSetAttribute_t)(CUfunction, int, int);
typedef CUresult (*cuFuncGetParamInfo_t)(CUfunction, size_t, size_t *, size_t *);
typedef CUresult (*cuLaunchKernel_t)(CUfunction, unsigned int, unsigned int, unsigned int, unsigned int,
                                     unsigned int, unsigned int, unsigned int, CUstream, void **, void **);
typedef CUresult (*cuIpcGetMemHandle_t)(CUipcMemHandle *, CUdeviceptr);
typedef CUresult (*cuIpcOpenMemHandle_t)(CUdeviceptr *, CUipcMemHandle, unsigned int);
typedef CUresult (*cuIpcCloseMemHandle_t)(CUdeviceptr);
typedef CUresult (*cuCtxEnablePeerAccess_t)(CUcontext, unsigned int);
typedef CUresult (*cuMemcpyPeerAsync_t)(CUdeviceptr, CUcontext, CUdeviceptr, CUcontext, size_t, CUstream);

/* ------------------------------------------------------------------ cuBLAS / cuBLASLt */
typedef int cublasStatus_t;
typedef struct cublasContext *cublasHandle_t;
typedef struct cublasLtContext *cublasLtHandle_t;
typedef struct cublasLtMatmulDescOpaque_t *cublasLtMatmulDesc_t;
typedef struct cublasLtMatrixLayoutOpaque_t *cublasLtMatrixLayout_t;

#define CUBLASLT_MATMUL_DESC_TRANSA 3
#define CUBLASLT_MATMUL_DESC_TRANSB 4

typedef const char *(*cublasGetStatusName_t)(cublasStatus_t);
typedef cublasStatus_t (*cublasCreate_t)(cublasHandle_t *);
typedef cublasStatus_t (*cublasDestroy_t)(cublasHandle_t);
typedef cublasStatus_t (*cublasGetVersion_t)(cublasHandle_t, int *);
typedef cublasStatus_t (*cublasSetStream_t)(cublasHandle_t, CUstream);
typedef cublasStatus_t (*cublasSetWorkspace_t)(cublasHandle_t, void *, size_t);
typedef cublasStatus_t (*cublasGemmEx_t)(cublasHandle_t, int, int, int, int, int, const void *, const void *, int,
                                         int, const void *, int, int, const void *, void *, int, int, int, int);
typedef cublasStatus_t (*cublasGemmStridedBatchedEx_t)(cublasHandle_t, int, int, int, int, int, const void *,
                                                       const void *, int, int, long long, const void *, int, int,
                                                       long long, const void *, void *, int, int, long long, int,
                                                       int, int);
typedef cublasStatus_t (*cublasLtCreate_t)(cublasLtHandle_t *);
typedef cublasStatus_t (*cublasLtDestroy_t)(cublasLtHandle_t);
typedef size_t (*cublasLtGetVersion_t)(void);
typedef cublasStatus_t (*cublasLtMatmulDescCreate_t)(cublasLtMatmulDesc_t *, int, int);
typedef cublasStatus_t (*cublasLtMatmulDescDestroy_t)(cublasLtMatmulDesc_t);
typedef cublasStatus_t (*cublasLtMatmulDescSetAttribute_t)(cublasLtMatmulDesc_t, int, const void *, size_t);
typedef cublasStatus_t (*cublasLtMatrixLayoutCreate_t)(cublasLtMatrixLayout_t *, int, uint64_t, uint64_t, int64_t);
typedef cublasStatus_t (*cublasLtMatrixLayoutDestroy_t)(cublasLtMatrixLayout_t);
typedef cublasStatus_t (*cublasLtMatmul_t)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void *, const void *,
                                           cublasLtMatrixLayout_t, const void *, cublasLtMatrixLayout_t,
                                           const void *, const void *, cublasLtMatrixLayout_t, void *,
                                           cublasLtMatrixLayout_t, const void *, void *, size_t, CUstream);

/* ------------------------------------------------------------------ NVRTC */
typedef int nvrtcResult;
typedef struct _nvrtcProgram *nvrtcProgram;

typedef const char *(*nvrtcGetErrorString_t)(nvrtcResult);
typedef nvrtcResult (*nvrtcVersion_t)(int *, int *);
typedef nvrtcResult (*nvrtcGetNumSupportedArchs_t)(int *);
typedef nvrtcResult (*nvrtcGetSupportedArchs_t)(int *);
typedef nvrtcResult (*nvrtcCreateProgram_t)(nvrtcProgram *, const char *, const char *, int, const char *const *,
                                            const char *const *);
typedef nvrtcResult (*nvrtcDestroyProgram_t)(nvrtcProgram *);
typedef nvrtcResult (*nvrtcCompileProgram_t)(nvrtcProgram, int, const char *const *);
typedef nvrtcResult (*nvrtcGetProgramLogSize_t)(nvrtcProgram, size_t *);
typedef nvrtcResult (*nvrtcGetProgramLog_t)(nvrtcProgram, char *);
typedef nvrtcResult (*nvrtcGetSize_t)(nvrtcProgram, size_t *);
typedef nvrtcResult (*nvrtcGetCode_t)(nvrtcProgram, char *);

/* ------------------------------------------------------------------ NCCL */
typedef int ncclResult_t;
typedef struct ncclComm *ncclComm_t;
/* ncclUniqueId: 128 opaque bytes, passed by value. */
typedef struct { char internal[128]; } ncclUniqueId;

typedef const char *(*ncclGetErrorString_t)(ncclResult_t);
typedef ncclResult_t (*ncclGetVersion_t)(int *);
typedef const char *(*ncclGetLastError_t)(ncclComm_t);
typedef ncclResult_t (*ncclGetUniqueId_t)(ncclUniqueId *);
typedef ncclResult_t (*ncclCommInitRank_t)(ncclComm_t *, int, ncclUniqueId, int);
typedef ncclResult_t (*ncclCommDestroy_t)(ncclComm_t);
typedef ncclResult_t (*ncclCommAbort_t)(ncclComm_t);
typedef ncclResult_t (*ncclCommCount_t)(const ncclComm_t, int *);
typedef ncclResult_t (*ncclCommUserRank_t)(const ncclComm_t, int *);
typedef ncclResult_t (*ncclCommGetAsyncError_t)(ncclComm_t, ncclResult_t *);
typedef ncclResult_t (*ncclAllReduce_t)(const void *, void *, size_t, int, int, ncclComm_t, CUstream);
typedef ncclResult_t (*ncclAllGather_t)(const void *, void *, size_t, int, ncclComm_t, CUstream);
typedef ncclResult_t (*ncclReduceScatter_t)(const void *, void *, size_t, int, int, ncclComm_t, CUstream);
typedef ncclResult_t (*ncclBroadcast_t)(const void *, void *, size_t, int, int, ncclComm_t, CUstream);
typedef ncclResult_t (*ncclSend_t)(const void *, size_t, int, int, ncclComm_t, CUstream);
typedef ncclResult_t (*ncclRecv_t)(void *, size_t, int, int, ncclComm_t, CUstream);
typedef ncclResult_t (*ncclGroupStart_t)(void);
typedef ncclResult_t (*ncclGroupEnd_t)(void);

#endif
