/*
 * Simulated NVRTC. "Compiling" checks the options as NVRTC would and that a loaded kernel library was built from
 * exactly this source (a stale build fails here, with the reason in the program log); the image names that
 * library, and cuModuleLoadData/cuModuleGetFunction find its kernels by name.
 */
#include "sim_core.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#define EXPORT extern "C" __attribute__((visibility("default")))

using namespace sim;

typedef int nvrtcResult;
enum : int {
    NVRTC_SUCCESS = 0,
    NVRTC_ERROR_OUT_OF_MEMORY = 1,
    NVRTC_ERROR_PROGRAM_CREATION_FAILURE = 2,
    NVRTC_ERROR_INVALID_INPUT = 3,
    NVRTC_ERROR_INVALID_PROGRAM = 4,
    NVRTC_ERROR_INVALID_OPTION = 5,
    NVRTC_ERROR_COMPILATION = 6,
};

namespace {
struct Program {
    std::string source, name, log, image;
    bool compiled = false;
    bool cubin = false;
};

const int kArchs[] = { 75, 80, 86, 87, 89, 90, 100, 120 };

bool starts(const std::string &s, const char *p) { return s.rfind(p, 0) == 0; }

/* returns the arch number, sets cubin for sm_NN */
bool parse_arch(const std::string &v, int *arch, bool *cubin) {
    const char *p = v.c_str();
    if (starts(v, "sm_")) {
        *cubin = true;
        p += 3;
    } else if (starts(v, "compute_")) {
        *cubin = false;
        p += 8;
    } else {
        return false;
    }
    char *end = nullptr;
    long a = strtol(p, &end, 10);
    if (end == p || (*end != 0 && *end != 'a' && *end != 'f')) return false;
    for (int k : kArchs)
        if (k == a) {
            *arch = (int) a;
            return true;
        }
    return false;
}
} // namespace

EXPORT const char *nvrtcGetErrorString(nvrtcResult r) {
    switch (r) {
    case 0: return "NVRTC_SUCCESS";
    case 1: return "NVRTC_ERROR_OUT_OF_MEMORY";
    case 2: return "NVRTC_ERROR_PROGRAM_CREATION_FAILURE";
    case 3: return "NVRTC_ERROR_INVALID_INPUT";
    case 4: return "NVRTC_ERROR_INVALID_PROGRAM";
    case 5: return "NVRTC_ERROR_INVALID_OPTION";
    case 6: return "NVRTC_ERROR_COMPILATION";
    default: return "NVRTC_ERROR_INTERNAL_ERROR";
    }
}

EXPORT nvrtcResult nvrtcVersion(int *major, int *minor) {
    *major = 13;
    *minor = 0;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetNumSupportedArchs(int *n) {
    *n = (int) (sizeof kArchs / sizeof *kArchs);
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetSupportedArchs(int *out) {
    std::memcpy(out, kArchs, sizeof kArchs);
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcCreateProgram(Program **out, const char *src, const char *name, int nh, const char *const *headers,
                                      const char *const *names) {
    if (out == nullptr || src == nullptr || nh < 0) return NVRTC_ERROR_INVALID_INPUT;
    for (int i = 0; i < nh; i++)
        if (headers[i] == nullptr || names[i] == nullptr) return NVRTC_ERROR_INVALID_INPUT;
    Program *p = new Program();
    p->source = src;
    p->name = name ? name : "default_program";
    *out = p;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcDestroyProgram(Program **p) {
    if (p == nullptr || *p == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    delete *p;
    *p = nullptr;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcCompileProgram(Program *p, int n, const char *const *options) {
    if (p == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    int arch = 75;
    bool cubin = false;
    for (int i = 0; i < n; i++) {
        std::string o = options[i] ? options[i] : "";
        std::string value;
        if (starts(o, "--gpu-architecture=")) value = o.substr(19);
        else if (starts(o, "-arch=")) value = o.substr(6);
        else if (o == "-arch" || o == "--gpu-architecture") value = i + 1 < n ? options[++i] : "";
        if (!value.empty() || starts(o, "-arch") || starts(o, "--gpu-architecture")) {
            if (!parse_arch(value, &arch, &cubin)) {
                p->log = "nvrtc: error: invalid value for --gpu-architecture (-arch): '" + value + "'\n";
                return NVRTC_ERROR_INVALID_OPTION;
            }
            continue;
        }
        static const char *known[] = { "--std=", "-std=", "-D", "--define-macro=", "-U", "-I", "--include-path=",
                                       "-default-device", "--device-as-default-execution-space", "-lineinfo",
                                       "--generate-line-info", "-use_fast_math", "--use_fast_math", "--fmad=",
                                       "-fmad=", "--ftz=", "-ftz=", "--prec-div=", "-prec-div=", "--prec-sqrt=",
                                       "-prec-sqrt=", "-w", "--disable-warnings", "--extra-device-vectorization",
                                       "-dopt=", "--dopt=", "-O", "--relocatable-device-code=false", "-rdc=false",
                                       "--restrict", "-restrict", "--device-debug", "-G", "-dw", "-ewp" };
        bool ok = false;
        for (const char *k : known) ok |= starts(o, k);
        if (!ok) {
            p->log = "nvrtc: error: unrecognized option '" + o + "'\n";
            return NVRTC_ERROR_INVALID_OPTION;
        }
    }
    uint64_t hash = fnv1a(p->source);
    if (find_kernel_lib(hash) == nullptr) {
        char buf[256];
        snprintf(buf, sizeof buf, "%016llx", (unsigned long long) hash);
        p->log = "cudasim: no loaded kernel library was built from this source of '" + p->name + "' (" +
                 std::to_string(p->source.size()) + " bytes, hash " + buf + "). Loaded kernel libraries: " +
                 kernel_lib_list() + ". Rebuild them (mvn test-compile) or name the library in stoker.cuda.sim.kernels.\n";
        return NVRTC_ERROR_COMPILATION;
    }
    char header[128];
    snprintf(header, sizeof header, "CUDASIM-IMAGE\n%016llx\n%s\n", (unsigned long long) hash, cubin ? "cubin" : "ptx");
    p->image = std::string(header) + "program " + p->name + "\narch " + std::to_string(arch) + "\n";
    p->cubin = cubin;
    p->compiled = true;
    p->log.clear();
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetProgramLogSize(Program *p, size_t *n) {
    if (p == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    *n = p->log.size() + 1;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetProgramLog(Program *p, char *out) {
    if (p == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    std::memcpy(out, p->log.c_str(), p->log.size() + 1);
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetPTXSize(Program *p, size_t *n) {
    if (p == nullptr || !p->compiled) return NVRTC_ERROR_INVALID_PROGRAM;
    *n = p->image.size() + 1;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetPTX(Program *p, char *out) {
    if (p == nullptr || !p->compiled) return NVRTC_ERROR_INVALID_PROGRAM;
    std::memcpy(out, p->image.c_str(), p->image.size() + 1);
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetCUBINSize(Program *p, size_t *n) {
    if (p == nullptr || !p->compiled) return NVRTC_ERROR_INVALID_PROGRAM;
    if (!p->cubin) return NVRTC_ERROR_INVALID_INPUT; /* compiled for a virtual architecture: PTX only */
    *n = p->image.size() + 1;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetCUBIN(Program *p, char *out) {
    if (p == nullptr || !p->compiled || !p->cubin) return NVRTC_ERROR_INVALID_PROGRAM;
    std::memcpy(out, p->image.c_str(), p->image.size() + 1);
    return NVRTC_SUCCESS;
}
