/*
 * Stoker's JNI shim over the CUDA driver, cuBLAS(Lt), NVRTC and NCCL.
 *
 * No CUDA header and no CUDA library at build time: every library is dlopen'ed at run time from the candidate
 * paths Java passes (configured directories, Python site-packages, then the system), and every function is
 * looked up by name. A missing library or required symbol raises io.stoker.runtime.cuda.CudaLibraryException
 * naming it; every failed call raises io.stoker.runtime.cuda.CudaException naming the call and the error.
 *
 * Java serialises the loading calls; the other functions are thread-safe as the libraries behind them are.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_decls.h"

#define JN(name) Java_io_stoker_runtime_cuda_CudaNative_##name
#define MAX_KERNEL_ARGS 64

/* ------------------------------------------------------------------------------------------ symbol tables */

/* X(field, exported symbol, required); "a|b" tries a, then b (same signature) */
#define DRIVER_SYMBOLS(X)                                                                                       \
    X(cuGetErrorName, "cuGetErrorName", 1) X(cuGetErrorString, "cuGetErrorString", 1) X(cuInit, "cuInit", 1)   \
    X(cuDriverGetVersion, "cuDriverGetVersion", 1) X(cuDeviceGetCount, "cuDeviceGetCount", 1)                   \
    X(cuDeviceGet, "cuDeviceGet", 1) X(cuDeviceGetName, "cuDeviceGetName", 1)                                   \
    X(cuDeviceGetAttribute, "cuDeviceGetAttribute", 1) X(cuDeviceTotalMem, "cuDeviceTotalMem_v2", 1)            \
    X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", 1)                                                  \
    X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", 1)                                             \
    X(cuDevicePrimaryCtxReset, "cuDevicePrimaryCtxReset_v2", 1) X(cuCtxSetCurrent, "cuCtxSetCurrent", 1)        \
    X(cuCtxGetCurrent, "cuCtxGetCurrent", 1) X(cuCtxSynchronize, "cuCtxSynchronize", 1)                         \
    X(cuMemGetInfo, "cuMemGetInfo_v2", 1) X(cuMemAlloc, "cuMemAlloc_v2", 1) X(cuMemFree, "cuMemFree_v2", 1)     \
    X(cuMemHostAlloc, "cuMemHostAlloc", 1) X(cuMemFreeHost, "cuMemFreeHost", 1)                                 \
    X(cuMemcpyHtoD, "cuMemcpyHtoD_v2", 1) X(cuMemcpyDtoH, "cuMemcpyDtoH_v2", 1)                                 \
    X(cuMemcpyDtoD, "cuMemcpyDtoD_v2", 1) X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", 1)                       \
    X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", 1) X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", 1)             \
    X(cuMemsetD8Async, "cuMemsetD8Async", 1) X(cuMemsetD32Async, "cuMemsetD32Async", 1)                         \
    X(cuStreamCreate, "cuStreamCreate", 1) X(cuStreamDestroy, "cuStreamDestroy_v2", 1)                          \
    X(cuStreamSynchronize, "cuStreamSynchronize", 1) X(cuStreamQuery, "cuStreamQuery", 1)                       \
    X(cuStreamWaitEvent, "cuStreamWaitEvent", 1) X(cuEventCreate, "cuEventCreate", 1)                           \
    X(cuEventDestroy, "cuEventDestroy_v2", 1) X(cuEventRecord, "cuEventRecord", 1)                              \
    X(cuEventSynchronize, "cuEventSynchronize", 1) X(cuEventQuery, "cuEventQuery", 1)                           \
    X(cuEventElapsedTime, "cuEventElapsedTime_v2|cuEventElapsedTime", 1) X(cuModuleLoadData, "cuModuleLoadData", 1)                   \
    X(cuModuleUnload, "cuModuleUnload", 1) X(cuModuleGetFunction, "cuModuleGetFunction", 1)                     \
    X(cuFuncGetAttribute, "cuFuncGetAttribute", 1) X(cuFuncSetAttribute, "cuFuncSetAttribute", 1)               \
    X(cuFuncGetParamInfo, "cuFuncGetParamInfo", 0) X(cuLaunchKernel, "cuLaunchKernel", 1)                       \
    X(cuIpcGetMemHandle, "cuIpcGetMemHandle", 0) X(cuIpcOpenMemHandle, "cuIpcOpenMemHandle_v2", 0)              \
    X(cuIpcCloseMemHandle, "cuIpcCloseMemHandle", 0) X(cuCtxEnablePeerAccess, "cuCtxEnablePeerAccess", 0)       \
    X(cuMemcpyPeerAsync, "cuMemcpyPeerAsync", 0)

#define CUBLASLT_SYMBOLS(X)                                                                                     \
    X(cublasLtCreate, "cublasLtCreate", 1) X(cublasLtDestroy, "cublasLtDestroy", 1)                             \
    X(cublasLtGetVersion, "cublasLtGetVersion", 1) X(cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate", 1)   \
    X(cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy", 1)                                                \
    X(cublasLtMatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute", 1)                                      \
    X(cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate", 1)                                              \
    X(cublasLtMatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy", 1) X(cublasLtMatmul, "cublasLtMatmul", 1)

#define CUBLAS_SYMBOLS(X)                                                                                       \
    X(cublasGetStatusName, "cublasGetStatusName", 0) X(cublasCreate, "cublasCreate_v2", 1)                      \
    X(cublasDestroy, "cublasDestroy_v2", 1) X(cublasGetVersion, "cublasGetVersion_v2", 1)                       \
    X(cublasSetStream, "cublasSetStream_v2", 1) X(cublasSetWorkspace, "cublasSetWorkspace_v2", 0)               \
    X(cublasGemmEx, "cublasGemmEx", 1) X(cublasGemmStridedBatchedEx, "cublasGemmStridedBatchedEx", 1)

#define NVRTC_SYMBOLS(X)                                                                                        \
    X(nvrtcGetErrorString, "nvrtcGetErrorString", 1) X(nvrtcVersion, "nvrtcVersion", 1)                         \
    X(nvrtcGetNumSupportedArchs, "nvrtcGetNumSupportedArchs", 0)                                                \
    X(nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs", 0) X(nvrtcCreateProgram, "nvrtcCreateProgram", 1)      \
    X(nvrtcDestroyProgram, "nvrtcDestroyProgram", 1) X(nvrtcCompileProgram, "nvrtcCompileProgram", 1)           \
    X(nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize", 1) X(nvrtcGetProgramLog, "nvrtcGetProgramLog", 1)       \
    X(nvrtcGetPTXSize, "nvrtcGetPTXSize", 1) X(nvrtcGetPTX, "nvrtcGetPTX", 1)                                   \
    X(nvrtcGetCUBINSize, "nvrtcGetCUBINSize", 1) X(nvrtcGetCUBIN, "nvrtcGetCUBIN", 1)

#define NCCL_SYMBOLS(X)                                                                                         \
    X(ncclGetErrorString, "ncclGetErrorString", 1) X(ncclGetVersion, "ncclGetVersion", 1)                       \
    X(ncclGetUniqueId, "ncclGetUniqueId", 1) X(ncclCommInitRank, "ncclCommInitRank", 1)                         \
    X(ncclCommDestroy, "ncclCommDestroy", 1) X(ncclCommAbort, "ncclCommAbort", 1)                               \
    X(ncclCommCount, "ncclCommCount", 1) X(ncclCommUserRank, "ncclCommUserRank", 1)                             \
    X(ncclCommGetAsyncError, "ncclCommGetAsyncError", 1) X(ncclAllReduce, "ncclAllReduce", 1)                   \
    X(ncclAllGather, "ncclAllGather", 1) X(ncclReduceScatter, "ncclReduceScatter", 1)                           \
    X(ncclBroadcast, "ncclBroadcast", 1) X(ncclSend, "ncclSend", 1) X(ncclRecv, "ncclRecv", 1)                  \
    X(ncclGroupStart, "ncclGroupStart", 1) X(ncclGroupEnd, "ncclGroupEnd", 1)                                   \
    X(ncclGetLastError, "ncclGetLastError", 0)

#define FIELD(n, s, r) n##_t n;
/* nvrtcGetPTX/CUBIN share one pointer type */
typedef nvrtcGetSize_t nvrtcGetPTXSize_t;
typedef nvrtcGetSize_t nvrtcGetCUBINSize_t;
typedef nvrtcGetCode_t nvrtcGetPTX_t;
typedef nvrtcGetCode_t nvrtcGetCUBIN_t;

struct driver_api { DRIVER_SYMBOLS(FIELD) };
struct cublaslt_api { CUBLASLT_SYMBOLS(FIELD) };
struct cublas_api { CUBLAS_SYMBOLS(FIELD) };
struct nvrtc_api { NVRTC_SYMBOLS(FIELD) };
struct nccl_api { NCCL_SYMBOLS(FIELD) };

typedef struct { const char *symbol; size_t offset; int required; } sym_spec;

#define DRIVER_SPEC(n, s, r) { s, offsetof(struct driver_api, n), r },
#define CUBLASLT_SPEC(n, s, r) { s, offsetof(struct cublaslt_api, n), r },
#define CUBLAS_SPEC(n, s, r) { s, offsetof(struct cublas_api, n), r },
#define NVRTC_SPEC(n, s, r) { s, offsetof(struct nvrtc_api, n), r },
#define NCCL_SPEC(n, s, r) { s, offsetof(struct nccl_api, n), r },

static const sym_spec driver_specs[] = { DRIVER_SYMBOLS(DRIVER_SPEC) };
static const sym_spec cublaslt_specs[] = { CUBLASLT_SYMBOLS(CUBLASLT_SPEC) };
static const sym_spec cublas_specs[] = { CUBLAS_SYMBOLS(CUBLAS_SPEC) };
static const sym_spec nvrtc_specs[] = { NVRTC_SYMBOLS(NVRTC_SPEC) };
static const sym_spec nccl_specs[] = { NCCL_SYMBOLS(NCCL_SPEC) };

static struct driver_api D;
static struct cublaslt_api L;
static struct cublas_api B;
static struct nvrtc_api R;
static struct nccl_api N;

typedef struct {
    const char *title;
    const sym_spec *specs;
    size_t count;
    void *table;
    size_t table_size;
    void *handle;
} library;

/* Indices match CudaNative.LIB_* in Java. */
static library libraries[] = {
    { "CUDA driver", driver_specs, sizeof driver_specs / sizeof *driver_specs, &D, sizeof D, NULL },
    { "cuBLASLt", cublaslt_specs, sizeof cublaslt_specs / sizeof *cublaslt_specs, &L, sizeof L, NULL },
    { "cuBLAS", cublas_specs, sizeof cublas_specs / sizeof *cublas_specs, &B, sizeof B, NULL },
    { "NVRTC", nvrtc_specs, sizeof nvrtc_specs / sizeof *nvrtc_specs, &R, sizeof R, NULL },
    { "NCCL", nccl_specs, sizeof nccl_specs / sizeof *nccl_specs, &N, sizeof N, NULL },
};
#define LIBRARY_COUNT ((int) (sizeof libraries / sizeof *libraries))

/* ------------------------------------------------------------------------------------------ exceptions */

static jclass cuda_exception_class;
static jmethodID cuda_exception_factory;
static jclass library_exception_class;
static jclass compile_exception_class;
static jmethodID compile_exception_ctor;

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
    (void) reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **) &env, JNI_VERSION_1_8) != JNI_OK) {
        return JNI_ERR;
    }
    jclass c = (*env)->FindClass(env, "io/stoker/runtime/cuda/CudaException");
    if (c == NULL) return JNI_ERR;
    cuda_exception_class = (*env)->NewGlobalRef(env, c);
    cuda_exception_factory = (*env)->GetStaticMethodID(env, c, "fromNative",
            "(Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;Ljava/lang/String;)"
            "Lio/stoker/runtime/cuda/CudaException;");
    c = (*env)->FindClass(env, "io/stoker/runtime/cuda/CudaLibraryException");
    if (c == NULL) return JNI_ERR;
    library_exception_class = (*env)->NewGlobalRef(env, c);
    c = (*env)->FindClass(env, "io/stoker/runtime/cuda/NvrtcCompileException");
    if (c == NULL) return JNI_ERR;
    compile_exception_class = (*env)->NewGlobalRef(env, c);
    compile_exception_ctor = (*env)->GetMethodID(env, c, "<init>",
            "(Ljava/lang/String;ILjava/lang/String;Ljava/lang/String;)V");
    if (cuda_exception_factory == NULL || compile_exception_ctor == NULL) return JNI_ERR;
    return JNI_VERSION_1_8;
}

static void throw_cuda(JNIEnv *env, const char *library, const char *call, int code, const char *name,
                       const char *description) {
    if ((*env)->ExceptionCheck(env)) return;
    jstring jlib = (*env)->NewStringUTF(env, library);
    jstring jcall = (*env)->NewStringUTF(env, call);
    jstring jname = (*env)->NewStringUTF(env, name ? name : "");
    jstring jdesc = (*env)->NewStringUTF(env, description ? description : "");
    if ((*env)->ExceptionCheck(env)) return;
    jobject e = (*env)->CallStaticObjectMethod(env, cuda_exception_class, cuda_exception_factory, jlib, jcall,
                                               (jint) code, jname, jdesc);
    if (e != NULL && !(*env)->ExceptionCheck(env)) (*env)->Throw(env, (jthrowable) e);
}

static void throw_library(JNIEnv *env, const char *message) {
    if (!(*env)->ExceptionCheck(env)) (*env)->ThrowNew(env, library_exception_class, message);
}

static void throw_missing(JNIEnv *env, int lib, const char *function) {
    char msg[512];
    if (libraries[lib].handle == NULL) {
        snprintf(msg, sizeof msg, "%s is not loaded (needed for %s); load it through CudaLibraries first",
                 libraries[lib].title, function);
    } else {
        snprintf(msg, sizeof msg, "symbol %s not found in the loaded %s library; it needs a newer %s",
                 function, libraries[lib].title, libraries[lib].title);
    }
    throw_library(env, msg);
}

/* Driver: 1 when `r` failed (and a CudaException is pending). */
static int cu_fail(JNIEnv *env, const char *call, CUresult r) {
    if (r == CUDA_SUCCESS) return 0;
    const char *name = NULL, *desc = NULL;
    if (D.cuGetErrorName == NULL || D.cuGetErrorName(r, &name) != CUDA_SUCCESS) name = NULL;
    if (D.cuGetErrorString == NULL || D.cuGetErrorString(r, &desc) != CUDA_SUCCESS) desc = NULL;
    throw_cuda(env, "driver", call, r, name ? name : "CUDA_ERROR_UNKNOWN_CODE", desc);
    return 1;
}

static int blas_fail(JNIEnv *env, const char *library, const char *call, cublasStatus_t s) {
    if (s == 0) return 0;
    const char *name = B.cublasGetStatusName ? B.cublasGetStatusName(s) : NULL;
    throw_cuda(env, library, call, s, name ? name : "CUBLAS_STATUS_UNKNOWN", NULL);
    return 1;
}

static int nvrtc_fail(JNIEnv *env, const char *call, nvrtcResult r) {
    if (r == 0) return 0;
    throw_cuda(env, "nvrtc", call, r, R.nvrtcGetErrorString ? R.nvrtcGetErrorString(r) : "NVRTC_ERROR", NULL);
    return 1;
}

static int nccl_fail(JNIEnv *env, const char *call, ncclResult_t r) {
    if (r == 0) return 0;
    const char *desc = N.ncclGetErrorString ? N.ncclGetErrorString(r) : NULL;
    /* NCCL >= 2.13 keeps a message for the thread's last failure: append it when there is one */
    const char *last = N.ncclGetLastError ? N.ncclGetLastError(NULL) : NULL;
    char both[1024];
    if (last != NULL && last[0] != 0) {
        snprintf(both, sizeof both, "%s: %s", desc ? desc : "", last);
        desc = both;
    }
    static const char *names[] = { "ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError",
                                   "ncclInternalError", "ncclInvalidArgument", "ncclInvalidUsage",
                                   "ncclRemoteError", "ncclInProgress" };
    throw_cuda(env, "nccl", call, r, (r >= 0 && r < 8) ? names[r] : "ncclUnknownError", desc);
    return 1;
}

#define NEED(lib, table, fn, ret)                                                                               \
    do {                                                                                                        \
        if ((table).fn == NULL) {                                                                               \
            throw_missing(env, lib, #fn);                                                                       \
            return ret;                                                                                         \
        }                                                                                                       \
    } while (0)
#define NEED_D(fn, ret) NEED(0, D, fn, ret)
#define NEED_L(fn, ret) NEED(1, L, fn, ret)
#define NEED_B(fn, ret) NEED(2, B, fn, ret)
#define NEED_R(fn, ret) NEED(3, R, fn, ret)
#define NEED_N(fn, ret) NEED(4, N, fn, ret)
#define PTR(x) ((void *) (uintptr_t) (x))
#define NOTHING

/* ------------------------------------------------------------------------------------------ loading */

/*
 * Tries each candidate in order; binds the library's symbols into `table`. Returns the chosen path (a new
 * Java string) or NULL with a CudaLibraryException pending that lists every attempt.
 */
static jstring bind_library(JNIEnv *env, int lib, jobjectArray candidates, void *table, void **handle_out) {
    library *l = &libraries[lib];
    jsize n = (*env)->GetArrayLength(env, candidates);
    size_t cap = 4096;
    char *tried = calloc(1, cap);
    if (tried == NULL) {
        throw_library(env, "out of memory while loading a CUDA library");
        return NULL;
    }
    for (jsize i = 0; i < n; i++) {
        jstring js = (jstring) (*env)->GetObjectArrayElement(env, candidates, i);
        const char *path = (*env)->GetStringUTFChars(env, js, NULL);
        if (path == NULL) {
            free(tried);
            return NULL;
        }
        dlerror();
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            const char *err = dlerror();
            size_t used = strlen(tried);
            snprintf(tried + used, cap - used, "\n  %s: %s", path, err ? err : "not loadable");
            (*env)->ReleaseStringUTFChars(env, js, path);
            (*env)->DeleteLocalRef(env, js);
            continue;
        }
        memset(table, 0, l->table_size);
        for (size_t s = 0; s < l->count; s++) {
            void *f = NULL;
            char names[128];
            snprintf(names, sizeof names, "%s", l->specs[s].symbol);
            for (char *save = NULL, *name = strtok_r(names, "|", &save); name != NULL && f == NULL;
                 name = strtok_r(NULL, "|", &save)) {
                f = dlsym(h, name);
            }
            if (f == NULL && l->specs[s].required) {
                char msg[1024];
                snprintf(msg, sizeof msg, "symbol %s not found in %s (%s); this library is too old or not the %s",
                         l->specs[s].symbol, path, l->title, l->title);
                (*env)->ReleaseStringUTFChars(env, js, path);
                memset(table, 0, l->table_size);
                dlclose(h);
                free(tried);
                throw_library(env, msg);
                return NULL;
            }
            memcpy((char *) table + l->specs[s].offset, &f, sizeof f);
        }
        char full[4096];
        /* the path the loader actually resolved (for the bare soname of the system search) */
        struct link_map *map = NULL;
        if (dlinfo(h, RTLD_DI_LINKMAP, &map) == 0 && map != NULL && map->l_name != NULL && map->l_name[0]) {
            snprintf(full, sizeof full, "%s", map->l_name);
        } else {
            snprintf(full, sizeof full, "%s", path);
        }
        (*env)->ReleaseStringUTFChars(env, js, path);
        (*env)->DeleteLocalRef(env, js);
        free(tried);
        *handle_out = h;
        return (*env)->NewStringUTF(env, full);
    }
    char *msg = malloc(cap + 256);
    if (msg != NULL) {
        snprintf(msg, cap + 256, "%s library not found; tried:%s", l->title, tried[0] ? tried : " (no candidates)");
        throw_library(env, msg);
        free(msg);
    } else {
        throw_library(env, "CUDA library not found");
    }
    free(tried);
    return NULL;
}

JNIEXPORT jstring JNICALL JN(openLibrary)(JNIEnv *env, jclass c, jint lib, jobjectArray candidates) {
    (void) c;
    if (lib < 0 || lib >= LIBRARY_COUNT) {
        throw_library(env, "unknown library id");
        return NULL;
    }
    if (libraries[lib].handle != NULL) {
        throw_library(env, "library already loaded");
        return NULL;
    }
    void *h = NULL;
    jstring path = bind_library(env, lib, candidates, libraries[lib].table, &h);
    if (path != NULL) libraries[lib].handle = h;
    return path;
}

/* Binds into a scratch table and unloads again: reports which candidate would load, or throws. */
JNIEXPORT jstring JNICALL JN(probeLibrary)(JNIEnv *env, jclass c, jint lib, jobjectArray candidates) {
    (void) c;
    if (lib < 0 || lib >= LIBRARY_COUNT) {
        throw_library(env, "unknown library id");
        return NULL;
    }
    void *scratch = calloc(1, libraries[lib].table_size);
    void *h = NULL;
    jstring path = scratch ? bind_library(env, lib, candidates, scratch, &h) : NULL;
    if (h != NULL) dlclose(h);
    free(scratch);
    return path;
}

/* Loads a helper library globally (e.g. NVRTC's builtins) so that later dlopen calls by soname find it. */
JNIEXPORT void JNICALL JN(preload)(JNIEnv *env, jclass c, jstring jpath) {
    (void) c;
    const char *path = (*env)->GetStringUTFChars(env, jpath, NULL);
    if (path == NULL) return;
    dlerror();
    if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == NULL) {
        char msg[1024];
        const char *err = dlerror();
        snprintf(msg, sizeof msg, "could not preload %s: %s", path, err ? err : "not loadable");
        throw_library(env, msg);
    }
    (*env)->ReleaseStringUTFChars(env, jpath, path);
}

JNIEXPORT jboolean JNICALL JN(isLoaded)(JNIEnv *env, jclass c, jint lib) {
    (void) env; (void) c;
    return lib >= 0 && lib < LIBRARY_COUNT && libraries[lib].handle != NULL;
}

/* Simulator hooks: exported only by the simulated driver library. */
typedef CUresult (*cudasimSetOption_t)(const char *, const char *);
typedef CUresult (*cudasimLoadKernels_t)(const char *);
typedef const char *(*cudasimLastError_t)(void);

static void sim_call(JNIEnv *env, const char *fn, jstring a, jstring b) {
    if (libraries[0].handle == NULL) {
        throw_missing(env, 0, fn);
        return;
    }
    void *f = dlsym(libraries[0].handle, fn);
    cudasimLastError_t last = (cudasimLastError_t) dlsym(libraries[0].handle, "cudasimLastError");
    if (f == NULL || last == NULL) {
        throw_library(env, "the loaded CUDA driver is not the simulator (no cudasim hooks)");
        return;
    }
    const char *sa = (*env)->GetStringUTFChars(env, a, NULL);
    const char *sb = b ? (*env)->GetStringUTFChars(env, b, NULL) : NULL;
    CUresult r = b ? ((cudasimSetOption_t) f)(sa, sb) : ((cudasimLoadKernels_t) f)(sa);
    if (r != CUDA_SUCCESS) {
        const char *name = NULL;
        D.cuGetErrorName(r, &name);
        throw_cuda(env, "cudasim", fn, r, name, last());
    }
    (*env)->ReleaseStringUTFChars(env, a, sa);
    if (b) (*env)->ReleaseStringUTFChars(env, b, sb);
}

JNIEXPORT void JNICALL JN(simSetOption)(JNIEnv *env, jclass c, jstring key, jstring value) {
    (void) c;
    sim_call(env, "cudasimSetOption", key, value);
}

JNIEXPORT void JNICALL JN(simLoadKernels)(JNIEnv *env, jclass c, jstring path) {
    (void) c;
    sim_call(env, "cudasimLoadKernels", path, NULL);
}

JNIEXPORT jint JNICALL JN(sizeOfIpcMemHandle)(JNIEnv *env, jclass c) {
    (void) env; (void) c;
    return (jint) sizeof(CUipcMemHandle);
}

JNIEXPORT jint JNICALL JN(sizeOfNcclUniqueId)(JNIEnv *env, jclass c) {
    (void) env; (void) c;
    return (jint) sizeof(ncclUniqueId);
}

/* ------------------------------------------------------------------------------------------ driver */

JNIEXPORT void JNICALL JN(init)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_D(cuInit, NOTHING);
    cu_fail(env, "cuInit", D.cuInit(0));
}

JNIEXPORT jint JNICALL JN(driverVersion)(JNIEnv *env, jclass c) {
    (void) c;
    int v = 0;
    NEED_D(cuDriverGetVersion, 0);
    if (cu_fail(env, "cuDriverGetVersion", D.cuDriverGetVersion(&v))) return 0;
    return v;
}

JNIEXPORT jint JNICALL JN(deviceCount)(JNIEnv *env, jclass c) {
    (void) c;
    int n = 0;
    NEED_D(cuDeviceGetCount, 0);
    if (cu_fail(env, "cuDeviceGetCount", D.cuDeviceGetCount(&n))) return 0;
    return n;
}

JNIEXPORT jint JNICALL JN(deviceGet)(JNIEnv *env, jclass c, jint ordinal) {
    (void) c;
    CUdevice d = 0;
    NEED_D(cuDeviceGet, 0);
    if (cu_fail(env, "cuDeviceGet", D.cuDeviceGet(&d, ordinal))) return 0;
    return d;
}

JNIEXPORT jstring JNICALL JN(deviceName)(JNIEnv *env, jclass c, jint dev) {
    (void) c;
    char name[256] = { 0 };
    NEED_D(cuDeviceGetName, NULL);
    if (cu_fail(env, "cuDeviceGetName", D.cuDeviceGetName(name, sizeof name - 1, dev))) return NULL;
    return (*env)->NewStringUTF(env, name);
}

JNIEXPORT jint JNICALL JN(deviceAttribute)(JNIEnv *env, jclass c, jint attr, jint dev) {
    (void) c;
    int v = 0;
    NEED_D(cuDeviceGetAttribute, 0);
    if (cu_fail(env, "cuDeviceGetAttribute", D.cuDeviceGetAttribute(&v, attr, dev))) return 0;
    return v;
}

JNIEXPORT jlong JNICALL JN(deviceTotalMem)(JNIEnv *env, jclass c, jint dev) {
    (void) c;
    size_t v = 0;
    NEED_D(cuDeviceTotalMem, 0);
    if (cu_fail(env, "cuDeviceTotalMem", D.cuDeviceTotalMem(&v, dev))) return 0;
    return (jlong) v;
}

JNIEXPORT jlong JNICALL JN(primaryCtxRetain)(JNIEnv *env, jclass c, jint dev) {
    (void) c;
    CUcontext ctx = NULL;
    NEED_D(cuDevicePrimaryCtxRetain, 0);
    if (cu_fail(env, "cuDevicePrimaryCtxRetain", D.cuDevicePrimaryCtxRetain(&ctx, dev))) return 0;
    return (jlong) (uintptr_t) ctx;
}

JNIEXPORT void JNICALL JN(primaryCtxRelease)(JNIEnv *env, jclass c, jint dev) {
    (void) c;
    NEED_D(cuDevicePrimaryCtxRelease, NOTHING);
    cu_fail(env, "cuDevicePrimaryCtxRelease", D.cuDevicePrimaryCtxRelease(dev));
}

JNIEXPORT void JNICALL JN(ctxSetCurrent)(JNIEnv *env, jclass c, jlong ctx) {
    (void) c;
    NEED_D(cuCtxSetCurrent, NOTHING);
    cu_fail(env, "cuCtxSetCurrent", D.cuCtxSetCurrent((CUcontext) PTR(ctx)));
}

JNIEXPORT jlong JNICALL JN(ctxGetCurrent)(JNIEnv *env, jclass c) {
    (void) c;
    CUcontext ctx = NULL;
    NEED_D(cuCtxGetCurrent, 0);
    if (cu_fail(env, "cuCtxGetCurrent", D.cuCtxGetCurrent(&ctx))) return 0;
    return (jlong) (uintptr_t) ctx;
}

JNIEXPORT void JNICALL JN(ctxSynchronize)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_D(cuCtxSynchronize, NOTHING);
    cu_fail(env, "cuCtxSynchronize", D.cuCtxSynchronize());
}

/* out[0] = free, out[1] = total */
JNIEXPORT void JNICALL JN(memGetInfo)(JNIEnv *env, jclass c, jlongArray out) {
    (void) c;
    size_t fr = 0, total = 0;
    NEED_D(cuMemGetInfo, NOTHING);
    if (cu_fail(env, "cuMemGetInfo", D.cuMemGetInfo(&fr, &total))) return;
    jlong v[2] = { (jlong) fr, (jlong) total };
    (*env)->SetLongArrayRegion(env, out, 0, 2, v);
}

JNIEXPORT jlong JNICALL JN(memAlloc)(JNIEnv *env, jclass c, jlong bytes) {
    (void) c;
    CUdeviceptr p = 0;
    NEED_D(cuMemAlloc, 0);
    if (cu_fail(env, "cuMemAlloc", D.cuMemAlloc(&p, (size_t) bytes))) return 0;
    return (jlong) p;
}

JNIEXPORT void JNICALL JN(memFree)(JNIEnv *env, jclass c, jlong ptr) {
    (void) c;
    NEED_D(cuMemFree, NOTHING);
    cu_fail(env, "cuMemFree", D.cuMemFree((CUdeviceptr) ptr));
}

JNIEXPORT jlong JNICALL JN(memHostAlloc)(JNIEnv *env, jclass c, jlong bytes, jint flags) {
    (void) c;
    void *p = NULL;
    NEED_D(cuMemHostAlloc, 0);
    if (cu_fail(env, "cuMemHostAlloc", D.cuMemHostAlloc(&p, (size_t) bytes, (unsigned) flags))) return 0;
    return (jlong) (uintptr_t) p;
}

JNIEXPORT void JNICALL JN(memFreeHost)(JNIEnv *env, jclass c, jlong ptr) {
    (void) c;
    NEED_D(cuMemFreeHost, NOTHING);
    cu_fail(env, "cuMemFreeHost", D.cuMemFreeHost(PTR(ptr)));
}

JNIEXPORT jobject JNICALL JN(directBuffer)(JNIEnv *env, jclass c, jlong address, jlong bytes) {
    (void) c;
    return (*env)->NewDirectByteBuffer(env, PTR(address), bytes);
}

JNIEXPORT jlong JNICALL JN(directBufferAddress)(JNIEnv *env, jclass c, jobject buffer) {
    (void) c;
    void *p = (*env)->GetDirectBufferAddress(env, buffer);
    return (jlong) (uintptr_t) p;
}

/* Java primitive array <-> device, synchronous. Offsets and sizes in bytes, checked by the caller. */
JNIEXPORT void JNICALL JN(memcpyHtoDArray)(JNIEnv *env, jclass c, jlong dst, jobject array, jlong offset,
                                           jlong bytes) {
    (void) c;
    NEED_D(cuMemcpyHtoD, NOTHING);
    char *a = (*env)->GetPrimitiveArrayCritical(env, (jarray) array, NULL);
    if (a == NULL) return;
    CUresult r = D.cuMemcpyHtoD((CUdeviceptr) dst, a + offset, (size_t) bytes);
    (*env)->ReleasePrimitiveArrayCritical(env, (jarray) array, a, JNI_ABORT);
    cu_fail(env, "cuMemcpyHtoD", r);
}

JNIEXPORT void JNICALL JN(memcpyDtoHArray)(JNIEnv *env, jclass c, jobject array, jlong offset, jlong src,
                                           jlong bytes) {
    (void) c;
    NEED_D(cuMemcpyDtoH, NOTHING);
    char *a = (*env)->GetPrimitiveArrayCritical(env, (jarray) array, NULL);
    if (a == NULL) return;
    CUresult r = D.cuMemcpyDtoH(a + offset, (CUdeviceptr) src, (size_t) bytes);
    (*env)->ReleasePrimitiveArrayCritical(env, (jarray) array, a, r == CUDA_SUCCESS ? 0 : JNI_ABORT);
    cu_fail(env, "cuMemcpyDtoH", r);
}

JNIEXPORT void JNICALL JN(memcpyHtoDAsync)(JNIEnv *env, jclass c, jlong dst, jlong src, jlong bytes, jlong s) {
    (void) c;
    NEED_D(cuMemcpyHtoDAsync, NOTHING);
    cu_fail(env, "cuMemcpyHtoDAsync",
            D.cuMemcpyHtoDAsync((CUdeviceptr) dst, PTR(src), (size_t) bytes, (CUstream) PTR(s)));
}

JNIEXPORT void JNICALL JN(memcpyDtoHAsync)(JNIEnv *env, jclass c, jlong dst, jlong src, jlong bytes, jlong s) {
    (void) c;
    NEED_D(cuMemcpyDtoHAsync, NOTHING);
    cu_fail(env, "cuMemcpyDtoHAsync",
            D.cuMemcpyDtoHAsync(PTR(dst), (CUdeviceptr) src, (size_t) bytes, (CUstream) PTR(s)));
}

JNIEXPORT void JNICALL JN(memcpyDtoDAsync)(JNIEnv *env, jclass c, jlong dst, jlong src, jlong bytes, jlong s) {
    (void) c;
    NEED_D(cuMemcpyDtoDAsync, NOTHING);
    cu_fail(env, "cuMemcpyDtoDAsync",
            D.cuMemcpyDtoDAsync((CUdeviceptr) dst, (CUdeviceptr) src, (size_t) bytes, (CUstream) PTR(s)));
}

JNIEXPORT void JNICALL JN(memcpyPeerAsync)(JNIEnv *env, jclass c, jlong dst, jlong dstCtx, jlong src, jlong srcCtx,
                                           jlong bytes, jlong s) {
    (void) c;
    NEED_D(cuMemcpyPeerAsync, NOTHING);
    cu_fail(env, "cuMemcpyPeerAsync",
            D.cuMemcpyPeerAsync((CUdeviceptr) dst, (CUcontext) PTR(dstCtx), (CUdeviceptr) src,
                                (CUcontext) PTR(srcCtx), (size_t) bytes, (CUstream) PTR(s)));
}

/* 1: enabled now or before; 0: the pair cannot reach each other (copies then go through the host). */
JNIEXPORT jboolean JNICALL JN(ctxEnablePeerAccess)(JNIEnv *env, jclass c, jlong peer) {
    (void) c;
    NEED_D(cuCtxEnablePeerAccess, JNI_FALSE);
    CUresult r = D.cuCtxEnablePeerAccess((CUcontext) PTR(peer), 0);
    if (r == CUDA_SUCCESS || r == 704 /* PEER_ACCESS_ALREADY_ENABLED */) return JNI_TRUE;
    if (r == 217 /* PEER_ACCESS_UNSUPPORTED */ || r == 101 /* INVALID_DEVICE */) return JNI_FALSE;
    cu_fail(env, "cuCtxEnablePeerAccess", r);
    return JNI_FALSE;
}

JNIEXPORT void JNICALL JN(memsetD8Async)(JNIEnv *env, jclass c, jlong dst, jint value, jlong n, jlong s) {
    (void) c;
    NEED_D(cuMemsetD8Async, NOTHING);
    cu_fail(env, "cuMemsetD8Async",
            D.cuMemsetD8Async((CUdeviceptr) dst, (unsigned char) value, (size_t) n, (CUstream) PTR(s)));
}

JNIEXPORT void JNICALL JN(memsetD32Async)(JNIEnv *env, jclass c, jlong dst, jint value, jlong n, jlong s) {
    (void) c;
    NEED_D(cuMemsetD32Async, NOTHING);
    cu_fail(env, "cuMemsetD32Async",
            D.cuMemsetD32Async((CUdeviceptr) dst, (unsigned) value, (size_t) n, (CUstream) PTR(s)));
}

JNIEXPORT jlong JNICALL JN(streamCreate)(JNIEnv *env, jclass c, jint flags) {
    (void) c;
    CUstream s = NULL;
    NEED_D(cuStreamCreate, 0);
    if (cu_fail(env, "cuStreamCreate", D.cuStreamCreate(&s, (unsigned) flags))) return 0;
    return (jlong) (uintptr_t) s;
}

JNIEXPORT void JNICALL JN(streamDestroy)(JNIEnv *env, jclass c, jlong s) {
    (void) c;
    NEED_D(cuStreamDestroy, NOTHING);
    cu_fail(env, "cuStreamDestroy", D.cuStreamDestroy((CUstream) PTR(s)));
}

JNIEXPORT void JNICALL JN(streamSynchronize)(JNIEnv *env, jclass c, jlong s) {
    (void) c;
    NEED_D(cuStreamSynchronize, NOTHING);
    cu_fail(env, "cuStreamSynchronize", D.cuStreamSynchronize((CUstream) PTR(s)));
}

/* true when all work is done, false when some is pending */
JNIEXPORT jboolean JNICALL JN(streamQuery)(JNIEnv *env, jclass c, jlong s) {
    (void) c;
    NEED_D(cuStreamQuery, JNI_FALSE);
    CUresult r = D.cuStreamQuery((CUstream) PTR(s));
    if (r == CUDA_ERROR_NOT_READY) return JNI_FALSE;
    return cu_fail(env, "cuStreamQuery", r) ? JNI_FALSE : JNI_TRUE;
}

JNIEXPORT void JNICALL JN(streamWaitEvent)(JNIEnv *env, jclass c, jlong s, jlong e) {
    (void) c;
    NEED_D(cuStreamWaitEvent, NOTHING);
    cu_fail(env, "cuStreamWaitEvent", D.cuStreamWaitEvent((CUstream) PTR(s), (CUevent) PTR(e), 0));
}

JNIEXPORT jlong JNICALL JN(eventCreate)(JNIEnv *env, jclass c, jint flags) {
    (void) c;
    CUevent e = NULL;
    NEED_D(cuEventCreate, 0);
    if (cu_fail(env, "cuEventCreate", D.cuEventCreate(&e, (unsigned) flags))) return 0;
    return (jlong) (uintptr_t) e;
}

JNIEXPORT void JNICALL JN(eventDestroy)(JNIEnv *env, jclass c, jlong e) {
    (void) c;
    NEED_D(cuEventDestroy, NOTHING);
    cu_fail(env, "cuEventDestroy", D.cuEventDestroy((CUevent) PTR(e)));
}

JNIEXPORT void JNICALL JN(eventRecord)(JNIEnv *env, jclass c, jlong e, jlong s) {
    (void) c;
    NEED_D(cuEventRecord, NOTHING);
    cu_fail(env, "cuEventRecord", D.cuEventRecord((CUevent) PTR(e), (CUstream) PTR(s)));
}

JNIEXPORT void JNICALL JN(eventSynchronize)(JNIEnv *env, jclass c, jlong e) {
    (void) c;
    NEED_D(cuEventSynchronize, NOTHING);
    cu_fail(env, "cuEventSynchronize", D.cuEventSynchronize((CUevent) PTR(e)));
}

JNIEXPORT jboolean JNICALL JN(eventQuery)(JNIEnv *env, jclass c, jlong e) {
    (void) c;
    NEED_D(cuEventQuery, JNI_FALSE);
    CUresult r = D.cuEventQuery((CUevent) PTR(e));
    if (r == CUDA_ERROR_NOT_READY) return JNI_FALSE;
    return cu_fail(env, "cuEventQuery", r) ? JNI_FALSE : JNI_TRUE;
}

JNIEXPORT jfloat JNICALL JN(eventElapsedTime)(JNIEnv *env, jclass c, jlong start, jlong end) {
    (void) c;
    float ms = 0;
    NEED_D(cuEventElapsedTime, 0);
    if (cu_fail(env, "cuEventElapsedTime", D.cuEventElapsedTime(&ms, (CUevent) PTR(start), (CUevent) PTR(end))))
        return 0;
    return ms;
}

JNIEXPORT jlong JNICALL JN(moduleLoadData)(JNIEnv *env, jclass c, jbyteArray image) {
    (void) c;
    NEED_D(cuModuleLoadData, 0);
    jsize n = (*env)->GetArrayLength(env, image);
    char *copy = malloc((size_t) n + 1); /* NUL-terminated: PTX images are text */
    if (copy == NULL) {
        throw_cuda(env, "driver", "cuModuleLoadData", 2, "CUDA_ERROR_OUT_OF_MEMORY", "host out of memory");
        return 0;
    }
    (*env)->GetByteArrayRegion(env, image, 0, n, (jbyte *) copy);
    copy[n] = 0;
    CUmodule m = NULL;
    CUresult r = D.cuModuleLoadData(&m, copy);
    free(copy);
    if (cu_fail(env, "cuModuleLoadData", r)) return 0;
    return (jlong) (uintptr_t) m;
}

JNIEXPORT void JNICALL JN(moduleUnload)(JNIEnv *env, jclass c, jlong m) {
    (void) c;
    NEED_D(cuModuleUnload, NOTHING);
    cu_fail(env, "cuModuleUnload", D.cuModuleUnload((CUmodule) PTR(m)));
}

JNIEXPORT jlong JNICALL JN(moduleGetFunction)(JNIEnv *env, jclass c, jlong m, jstring jname) {
    (void) c;
    NEED_D(cuModuleGetFunction, 0);
    const char *name = (*env)->GetStringUTFChars(env, jname, NULL);
    if (name == NULL) return 0;
    CUfunction f = NULL;
    CUresult r = D.cuModuleGetFunction(&f, (CUmodule) PTR(m), name);
    (*env)->ReleaseStringUTFChars(env, jname, name);
    if (cu_fail(env, "cuModuleGetFunction", r)) return 0;
    return (jlong) (uintptr_t) f;
}

JNIEXPORT jint JNICALL JN(funcGetAttribute)(JNIEnv *env, jclass c, jint attr, jlong f) {
    (void) c;
    int v = 0;
    NEED_D(cuFuncGetAttribute, 0);
    if (cu_fail(env, "cuFuncGetAttribute", D.cuFuncGetAttribute(&v, attr, (CUfunction) PTR(f)))) return 0;
    return v;
}

JNIEXPORT void JNICALL JN(funcSetAttribute)(JNIEnv *env, jclass c, jlong f, jint attr, jint value) {
    (void) c;
    NEED_D(cuFuncSetAttribute, NOTHING);
    cu_fail(env, "cuFuncSetAttribute", D.cuFuncSetAttribute((CUfunction) PTR(f), attr, value));
}

/* Parameter sizes of a kernel, or null when the driver cannot tell (cuFuncGetParamInfo needs CUDA 12.4). */
JNIEXPORT jlongArray JNICALL JN(funcParamSizes)(JNIEnv *env, jclass c, jlong f) {
    (void) c;
    if (D.cuFuncGetParamInfo == NULL) return NULL;
    jlong sizes[MAX_KERNEL_ARGS];
    int n = 0;
    for (; n < MAX_KERNEL_ARGS; n++) {
        size_t off = 0, size = 0;
        CUresult r = D.cuFuncGetParamInfo((CUfunction) PTR(f), (size_t) n, &off, &size);
        if (r == CUDA_ERROR_INVALID_VALUE) break;
        if (r != CUDA_SUCCESS) return NULL; /* not supported for this function or driver */
        sizes[n] = (jlong) size;
    }
    jlongArray out = (*env)->NewLongArray(env, n);
    if (out != NULL) (*env)->SetLongArrayRegion(env, out, 0, n, sizes);
    return out;
}

/*
 * `args` points to argCount int32 byte offsets followed by the argument values; offset i locates argument i
 * relative to `args`. The driver copies the values during the call.
 */
JNIEXPORT void JNICALL JN(launchKernel)(JNIEnv *env, jclass c, jlong f, jint gx, jint gy, jint gz, jint bx, jint by,
                                        jint bz, jint shared, jlong stream, jlong args, jint argCount) {
    (void) c;
    NEED_D(cuLaunchKernel, NOTHING);
    if (argCount < 0 || argCount > MAX_KERNEL_ARGS) {
        throw_cuda(env, "driver", "cuLaunchKernel", CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE",
                   "too many kernel arguments");
        return;
    }
    void *params[MAX_KERNEL_ARGS];
    const int32_t *offsets = (const int32_t *) PTR(args);
    for (int i = 0; i < argCount; i++) params[i] = (char *) PTR(args) + offsets[i];
    cu_fail(env, "cuLaunchKernel",
            D.cuLaunchKernel((CUfunction) PTR(f), (unsigned) gx, (unsigned) gy, (unsigned) gz, (unsigned) bx,
                             (unsigned) by, (unsigned) bz, (unsigned) shared, (CUstream) PTR(stream),
                             argCount ? params : NULL, NULL));
}

JNIEXPORT jbyteArray JNICALL JN(ipcGetMemHandle)(JNIEnv *env, jclass c, jlong ptr) {
    (void) c;
    NEED_D(cuIpcGetMemHandle, NULL);
    CUipcMemHandle h;
    if (cu_fail(env, "cuIpcGetMemHandle", D.cuIpcGetMemHandle(&h, (CUdeviceptr) ptr))) return NULL;
    jbyteArray out = (*env)->NewByteArray(env, sizeof h);
    if (out != NULL) (*env)->SetByteArrayRegion(env, out, 0, sizeof h, (const jbyte *) h.reserved);
    return out;
}

JNIEXPORT jlong JNICALL JN(ipcOpenMemHandle)(JNIEnv *env, jclass c, jbyteArray handle) {
    (void) c;
    NEED_D(cuIpcOpenMemHandle, 0);
    CUipcMemHandle h;
    if ((*env)->GetArrayLength(env, handle) != (jsize) sizeof h) {
        throw_cuda(env, "driver", "cuIpcOpenMemHandle", CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE",
                   "an IPC memory handle has 64 bytes");
        return 0;
    }
    (*env)->GetByteArrayRegion(env, handle, 0, sizeof h, (jbyte *) h.reserved);
    CUdeviceptr p = 0;
    if (cu_fail(env, "cuIpcOpenMemHandle", D.cuIpcOpenMemHandle(&p, h, 1 /* LAZY_ENABLE_PEER_ACCESS */))) return 0;
    return (jlong) p;
}

JNIEXPORT void JNICALL JN(ipcCloseMemHandle)(JNIEnv *env, jclass c, jlong ptr) {
    (void) c;
    NEED_D(cuIpcCloseMemHandle, NOTHING);
    cu_fail(env, "cuIpcCloseMemHandle", D.cuIpcCloseMemHandle((CUdeviceptr) ptr));
}

/* ------------------------------------------------------------------------------------------ cuBLAS(Lt) */

JNIEXPORT jlong JNICALL JN(cublasCreate)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_B(cublasCreate, 0);
    cublasHandle_t h = NULL;
    if (blas_fail(env, "cublas", "cublasCreate", B.cublasCreate(&h))) return 0;
    return (jlong) (uintptr_t) h;
}

JNIEXPORT void JNICALL JN(cublasDestroy)(JNIEnv *env, jclass c, jlong h) {
    (void) c;
    NEED_B(cublasDestroy, NOTHING);
    blas_fail(env, "cublas", "cublasDestroy", B.cublasDestroy((cublasHandle_t) PTR(h)));
}

JNIEXPORT jint JNICALL JN(cublasVersion)(JNIEnv *env, jclass c, jlong h) {
    (void) c;
    NEED_B(cublasGetVersion, 0);
    int v = 0;
    if (blas_fail(env, "cublas", "cublasGetVersion", B.cublasGetVersion((cublasHandle_t) PTR(h), &v))) return 0;
    return v;
}

JNIEXPORT void JNICALL JN(cublasSetStream)(JNIEnv *env, jclass c, jlong h, jlong s) {
    (void) c;
    NEED_B(cublasSetStream, NOTHING);
    blas_fail(env, "cublas", "cublasSetStream", B.cublasSetStream((cublasHandle_t) PTR(h), (CUstream) PTR(s)));
}

JNIEXPORT void JNICALL JN(cublasSetWorkspace)(JNIEnv *env, jclass c, jlong h, jlong ptr, jlong bytes) {
    (void) c;
    NEED_B(cublasSetWorkspace, NOTHING);
    blas_fail(env, "cublas", "cublasSetWorkspace",
              B.cublasSetWorkspace((cublasHandle_t) PTR(h), PTR(ptr), (size_t) bytes));
}

JNIEXPORT void JNICALL JN(cublasGemmEx)(JNIEnv *env, jclass c, jlong h, jint ta, jint tb, jint m, jint n, jint k,
                                        jfloat alpha, jlong a, jint atype, jint lda, jlong b, jint btype, jint ldb,
                                        jfloat beta, jlong cc, jint ctype, jint ldc, jint compute, jint algo) {
    (void) c;
    NEED_B(cublasGemmEx, NOTHING);
    blas_fail(env, "cublas", "cublasGemmEx",
              B.cublasGemmEx((cublasHandle_t) PTR(h), ta, tb, m, n, k, &alpha, PTR(a), atype, lda, PTR(b), btype,
                             ldb, &beta, PTR(cc), ctype, ldc, compute, algo));
}

JNIEXPORT void JNICALL JN(cublasGemmStridedBatchedEx)(JNIEnv *env, jclass c, jlong h, jint ta, jint tb, jint m,
                                                      jint n, jint k, jfloat alpha, jlong a, jint atype, jint lda,
                                                      jlong sa, jlong b, jint btype, jint ldb, jlong sb, jfloat beta,
                                                      jlong cc, jint ctype, jint ldc, jlong sc, jint batch,
                                                      jint compute, jint algo) {
    (void) c;
    NEED_B(cublasGemmStridedBatchedEx, NOTHING);
    blas_fail(env, "cublas", "cublasGemmStridedBatchedEx",
              B.cublasGemmStridedBatchedEx((cublasHandle_t) PTR(h), ta, tb, m, n, k, &alpha, PTR(a), atype, lda, sa,
                                           PTR(b), btype, ldb, sb, &beta, PTR(cc), ctype, ldc, sc, batch, compute,
                                           algo));
}

JNIEXPORT jlong JNICALL JN(cublasLtCreate)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_L(cublasLtCreate, 0);
    cublasLtHandle_t h = NULL;
    if (blas_fail(env, "cublasLt", "cublasLtCreate", L.cublasLtCreate(&h))) return 0;
    return (jlong) (uintptr_t) h;
}

JNIEXPORT void JNICALL JN(cublasLtDestroy)(JNIEnv *env, jclass c, jlong h) {
    (void) c;
    NEED_L(cublasLtDestroy, NOTHING);
    blas_fail(env, "cublasLt", "cublasLtDestroy", L.cublasLtDestroy((cublasLtHandle_t) PTR(h)));
}

/*
 * D = alpha * op(A) op(B) + beta * C, column-major, C and D of one type and layout (D may be C). The
 * descriptors are made and freed per call (host-side only, microseconds).
 */
JNIEXPORT void JNICALL JN(cublasLtMatmul)(JNIEnv *env, jclass c, jlong h, jint ta, jint tb, jlong m, jlong n,
                                          jlong k, jfloat alpha, jlong a, jint atype, jlong lda, jlong b, jint btype,
                                          jlong ldb, jfloat beta, jlong cc, jlong d, jint ctype, jlong ldc,
                                          jint compute, jlong workspace, jlong wsBytes, jlong stream) {
    (void) c;
    NEED_L(cublasLtMatmul, NOTHING);
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    if (blas_fail(env, "cublasLt", "cublasLtMatmulDescCreate", L.cublasLtMatmulDescCreate(&desc, compute, 0)))
        return;
    int32_t opa = ta, opb = tb;
    if (blas_fail(env, "cublasLt", "cublasLtMatmulDescSetAttribute",
                  L.cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa)) ||
        blas_fail(env, "cublasLt", "cublasLtMatmulDescSetAttribute",
                  L.cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb)))
        goto done;
    /* stored shapes: A is (m x k) or (k x m) when transposed, likewise B */
    if (blas_fail(env, "cublasLt", "cublasLtMatrixLayoutCreate",
                  L.cublasLtMatrixLayoutCreate(&la, atype, ta ? k : m, ta ? m : k, lda)) ||
        blas_fail(env, "cublasLt", "cublasLtMatrixLayoutCreate",
                  L.cublasLtMatrixLayoutCreate(&lb, btype, tb ? n : k, tb ? k : n, ldb)) ||
        blas_fail(env, "cublasLt", "cublasLtMatrixLayoutCreate",
                  L.cublasLtMatrixLayoutCreate(&lc, ctype, m, n, ldc)))
        goto done;
    blas_fail(env, "cublasLt", "cublasLtMatmul",
              L.cublasLtMatmul((cublasLtHandle_t) PTR(h), desc, &alpha, PTR(a), la, PTR(b), lb, &beta, PTR(cc), lc,
                               PTR(d), lc, NULL, PTR(workspace), (size_t) wsBytes, (CUstream) PTR(stream)));
done:
    if (lc) L.cublasLtMatrixLayoutDestroy(lc);
    if (lb) L.cublasLtMatrixLayoutDestroy(lb);
    if (la) L.cublasLtMatrixLayoutDestroy(la);
    L.cublasLtMatmulDescDestroy(desc);
}

/* ------------------------------------------------------------------------------------------ NVRTC */

/* [major, minor] */
JNIEXPORT jintArray JNICALL JN(nvrtcVersion)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_R(nvrtcVersion, NULL);
    int v[2] = { 0, 0 };
    if (nvrtc_fail(env, "nvrtcVersion", R.nvrtcVersion(&v[0], &v[1]))) return NULL;
    jintArray out = (*env)->NewIntArray(env, 2);
    if (out != NULL) (*env)->SetIntArrayRegion(env, out, 0, 2, v);
    return out;
}

/* e.g. [75, 80, 86, 89, 90, ...]; null when this NVRTC cannot tell */
JNIEXPORT jintArray JNICALL JN(nvrtcSupportedArchs)(JNIEnv *env, jclass c) {
    (void) c;
    if (R.nvrtcGetNumSupportedArchs == NULL || R.nvrtcGetSupportedArchs == NULL) return NULL;
    int n = 0;
    if (nvrtc_fail(env, "nvrtcGetNumSupportedArchs", R.nvrtcGetNumSupportedArchs(&n))) return NULL;
    if (n <= 0 || n > 1024) return NULL;
    int archs[1024];
    if (nvrtc_fail(env, "nvrtcGetSupportedArchs", R.nvrtcGetSupportedArchs(archs))) return NULL;
    jintArray out = (*env)->NewIntArray(env, n);
    if (out != NULL) (*env)->SetIntArrayRegion(env, out, 0, n, archs);
    return out;
}

static char **utf_array(JNIEnv *env, jobjectArray a, jsize *n_out) {
    jsize n = a ? (*env)->GetArrayLength(env, a) : 0;
    char **out = calloc((size_t) n + 1, sizeof(char *));
    if (out == NULL) return NULL;
    for (jsize i = 0; i < n; i++) {
        jstring s = (jstring) (*env)->GetObjectArrayElement(env, a, i);
        const char *u = (*env)->GetStringUTFChars(env, s, NULL);
        out[i] = u ? strdup(u) : NULL;
        if (u) (*env)->ReleaseStringUTFChars(env, s, u);
        (*env)->DeleteLocalRef(env, s);
    }
    *n_out = n;
    return out;
}

static void free_utf_array(char **a, jsize n) {
    if (a == NULL) return;
    for (jsize i = 0; i < n; i++) free(a[i]);
    free(a);
}

/*
 * Compiles one program. Returns {byte[] image, String log}; a compile error throws NvrtcCompileException with
 * the program log.
 */
JNIEXPORT jobjectArray JNICALL JN(nvrtcCompile)(JNIEnv *env, jclass c, jstring jname, jstring jsrc,
                                                jobjectArray headerNames, jobjectArray headerSources,
                                                jobjectArray options, jboolean cubin) {
    (void) c;
    NEED_R(nvrtcCreateProgram, NULL);
    jsize nh = 0, nh2 = 0, no = 0;
    char **hn = utf_array(env, headerNames, &nh);
    char **hs = utf_array(env, headerSources, &nh2);
    char **opts = utf_array(env, options, &no);
    const char *name = (*env)->GetStringUTFChars(env, jname, NULL);
    const char *src = (*env)->GetStringUTFChars(env, jsrc, NULL);
    jobjectArray result = NULL;
    nvrtcProgram prog = NULL;
    char *log = NULL;
    if (hn == NULL || hs == NULL || opts == NULL || name == NULL || src == NULL || nh != nh2) goto done;
    if (nvrtc_fail(env, "nvrtcCreateProgram", R.nvrtcCreateProgram(&prog, src, name, nh, (const char *const *) hs,
                                                                   (const char *const *) hn)))
        goto done;
    nvrtcResult cr = R.nvrtcCompileProgram(prog, no, (const char *const *) opts);
    size_t log_size = 0;
    if (R.nvrtcGetProgramLogSize(prog, &log_size) == 0 && log_size > 0) {
        log = calloc(1, log_size + 1);
        if (log) R.nvrtcGetProgramLog(prog, log);
    }
    if (cr != 0) {
        jstring jlog = (*env)->NewStringUTF(env, log ? log : "");
        jstring jerr = (*env)->NewStringUTF(env, R.nvrtcGetErrorString(cr));
        jobject e = (*env)->NewObject(env, compile_exception_class, compile_exception_ctor, jname, (jint) cr, jerr,
                                      jlog);
        if (e != NULL) (*env)->Throw(env, (jthrowable) e);
        goto done;
    }
    size_t size = 0;
    if (nvrtc_fail(env, cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize",
                   cubin ? R.nvrtcGetCUBINSize(prog, &size) : R.nvrtcGetPTXSize(prog, &size)))
        goto done;
    char *code = malloc(size ? size : 1);
    if (code == NULL) goto done;
    if (nvrtc_fail(env, cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX",
                   cubin ? R.nvrtcGetCUBIN(prog, code) : R.nvrtcGetPTX(prog, code))) {
        free(code);
        goto done;
    }
    jbyteArray image = (*env)->NewByteArray(env, (jsize) size);
    if (image != NULL) (*env)->SetByteArrayRegion(env, image, 0, (jsize) size, (const jbyte *) code);
    free(code);
    jclass objc = (*env)->FindClass(env, "java/lang/Object");
    result = (*env)->NewObjectArray(env, 2, objc, NULL);
    if (result != NULL) {
        (*env)->SetObjectArrayElement(env, result, 0, image);
        (*env)->SetObjectArrayElement(env, result, 1, (*env)->NewStringUTF(env, log ? log : ""));
    }
done:
    if (prog != NULL) R.nvrtcDestroyProgram(&prog);
    free(log);
    if (name) (*env)->ReleaseStringUTFChars(env, jname, name);
    if (src) (*env)->ReleaseStringUTFChars(env, jsrc, src);
    free_utf_array(hn, nh);
    free_utf_array(hs, nh2);
    free_utf_array(opts, no);
    return result;
}

/* ------------------------------------------------------------------------------------------ NCCL */

JNIEXPORT jint JNICALL JN(ncclVersion)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_N(ncclGetVersion, 0);
    int v = 0;
    if (nccl_fail(env, "ncclGetVersion", N.ncclGetVersion(&v))) return 0;
    return v;
}

JNIEXPORT jbyteArray JNICALL JN(ncclGetUniqueId)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_N(ncclGetUniqueId, NULL);
    ncclUniqueId id;
    if (nccl_fail(env, "ncclGetUniqueId", N.ncclGetUniqueId(&id))) return NULL;
    jbyteArray out = (*env)->NewByteArray(env, sizeof id);
    if (out != NULL) (*env)->SetByteArrayRegion(env, out, 0, sizeof id, (const jbyte *) id.internal);
    return out;
}

JNIEXPORT jlong JNICALL JN(ncclCommInitRank)(JNIEnv *env, jclass c, jint nranks, jbyteArray jid, jint rank) {
    (void) c;
    NEED_N(ncclCommInitRank, 0);
    ncclUniqueId id;
    if ((*env)->GetArrayLength(env, jid) != (jsize) sizeof id) {
        throw_cuda(env, "nccl", "ncclCommInitRank", 4, "ncclInvalidArgument", "an NCCL unique id has 128 bytes");
        return 0;
    }
    (*env)->GetByteArrayRegion(env, jid, 0, sizeof id, (jbyte *) id.internal);
    ncclComm_t comm = NULL;
    if (nccl_fail(env, "ncclCommInitRank", N.ncclCommInitRank(&comm, nranks, id, rank))) return 0;
    return (jlong) (uintptr_t) comm;
}

JNIEXPORT void JNICALL JN(ncclCommDestroy)(JNIEnv *env, jclass c, jlong comm) {
    (void) c;
    NEED_N(ncclCommDestroy, NOTHING);
    nccl_fail(env, "ncclCommDestroy", N.ncclCommDestroy((ncclComm_t) PTR(comm)));
}

JNIEXPORT void JNICALL JN(ncclCommAbort)(JNIEnv *env, jclass c, jlong comm) {
    (void) c;
    NEED_N(ncclCommAbort, NOTHING);
    nccl_fail(env, "ncclCommAbort", N.ncclCommAbort((ncclComm_t) PTR(comm)));
}

JNIEXPORT jint JNICALL JN(ncclCommCount)(JNIEnv *env, jclass c, jlong comm) {
    (void) c;
    NEED_N(ncclCommCount, 0);
    int v = 0;
    if (nccl_fail(env, "ncclCommCount", N.ncclCommCount((ncclComm_t) PTR(comm), &v))) return 0;
    return v;
}

JNIEXPORT jint JNICALL JN(ncclCommUserRank)(JNIEnv *env, jclass c, jlong comm) {
    (void) c;
    NEED_N(ncclCommUserRank, 0);
    int v = 0;
    if (nccl_fail(env, "ncclCommUserRank", N.ncclCommUserRank((ncclComm_t) PTR(comm), &v))) return 0;
    return v;
}

JNIEXPORT jint JNICALL JN(ncclCommGetAsyncError)(JNIEnv *env, jclass c, jlong comm) {
    (void) c;
    NEED_N(ncclCommGetAsyncError, 0);
    ncclResult_t v = 0;
    if (nccl_fail(env, "ncclCommGetAsyncError", N.ncclCommGetAsyncError((ncclComm_t) PTR(comm), &v))) return 0;
    return v;
}

JNIEXPORT void JNICALL JN(ncclAllReduce)(JNIEnv *env, jclass c, jlong send, jlong recv, jlong count, jint type,
                                         jint op, jlong comm, jlong stream) {
    (void) c;
    NEED_N(ncclAllReduce, NOTHING);
    nccl_fail(env, "ncclAllReduce", N.ncclAllReduce(PTR(send), PTR(recv), (size_t) count, type, op,
                                                    (ncclComm_t) PTR(comm), (CUstream) PTR(stream)));
}

JNIEXPORT void JNICALL JN(ncclAllGather)(JNIEnv *env, jclass c, jlong send, jlong recv, jlong count, jint type,
                                         jlong comm, jlong stream) {
    (void) c;
    NEED_N(ncclAllGather, NOTHING);
    nccl_fail(env, "ncclAllGather", N.ncclAllGather(PTR(send), PTR(recv), (size_t) count, type,
                                                    (ncclComm_t) PTR(comm), (CUstream) PTR(stream)));
}

JNIEXPORT void JNICALL JN(ncclReduceScatter)(JNIEnv *env, jclass c, jlong send, jlong recv, jlong count, jint type,
                                             jint op, jlong comm, jlong stream) {
    (void) c;
    NEED_N(ncclReduceScatter, NOTHING);
    nccl_fail(env, "ncclReduceScatter", N.ncclReduceScatter(PTR(send), PTR(recv), (size_t) count, type, op,
                                                            (ncclComm_t) PTR(comm), (CUstream) PTR(stream)));
}

JNIEXPORT void JNICALL JN(ncclBroadcast)(JNIEnv *env, jclass c, jlong send, jlong recv, jlong count, jint type,
                                         jint root, jlong comm, jlong stream) {
    (void) c;
    NEED_N(ncclBroadcast, NOTHING);
    nccl_fail(env, "ncclBroadcast", N.ncclBroadcast(PTR(send), PTR(recv), (size_t) count, type, root,
                                                    (ncclComm_t) PTR(comm), (CUstream) PTR(stream)));
}

JNIEXPORT void JNICALL JN(ncclSend)(JNIEnv *env, jclass c, jlong send, jlong count, jint type, jint peer,
                                    jlong comm, jlong stream) {
    (void) c;
    NEED_N(ncclSend, NOTHING);
    nccl_fail(env, "ncclSend", N.ncclSend(PTR(send), (size_t) count, type, peer, (ncclComm_t) PTR(comm),
                                          (CUstream) PTR(stream)));
}

JNIEXPORT void JNICALL JN(ncclRecv)(JNIEnv *env, jclass c, jlong recv, jlong count, jint type, jint peer,
                                    jlong comm, jlong stream) {
    (void) c;
    NEED_N(ncclRecv, NOTHING);
    nccl_fail(env, "ncclRecv", N.ncclRecv(PTR(recv), (size_t) count, type, peer, (ncclComm_t) PTR(comm),
                                          (CUstream) PTR(stream)));
}

JNIEXPORT void JNICALL JN(ncclGroupStart)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_N(ncclGroupStart, NOTHING);
    nccl_fail(env, "ncclGroupStart", N.ncclGroupStart());
}

JNIEXPORT void JNICALL JN(ncclGroupEnd)(JNIEnv *env, jclass c) {
    (void) c;
    NEED_N(ncclGroupEnd, NOTHING);
    nccl_fail(env, "ncclGroupEnd", N.ncclGroupEnd());
}
