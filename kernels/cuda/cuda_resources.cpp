#include "cuda/cuda_resources.hpp"

namespace fgbi::kernels::cuda {

CudaFailure::CudaFailure(const char* what, cudaError_t error)
    : std::runtime_error(std::string(what) + ": " + cudaGetErrorName(error) + " (" +
                         cudaGetErrorString(error) + ")"),
      error_(error) {}

Stream::Stream() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  stream_ = UniqueHandle<cudaStream_t, StreamTraits>(s);
}

Event::Event(bool timing) {
  cudaEvent_t e = nullptr;
  const unsigned flags = cudaEventBlockingSync | (timing ? 0u : unsigned{cudaEventDisableTiming});
  check(cudaEventCreateWithFlags(&e, flags), "cudaEventCreateWithFlags");
  event_ = UniqueHandle<cudaEvent_t, EventTraits>(e);
}

void Event::record(cudaStream_t stream) {
  check(cudaEventRecord(get(), stream), "cudaEventRecord");
}

void Event::synchronize() const { check(cudaEventSynchronize(get()), "cudaEventSynchronize"); }

float Event::elapsed_ms_since(const Event& start) const {
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start.get(), get()), "cudaEventElapsedTime");
  return ms;
}

void DeviceBytes::grow(size_t bytes) {
  if (bytes <= size_) return;
  memory_.reset();
  size_ = 0;
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), "cudaMalloc");
  memory_ = UniqueHandle<void*, DeviceMemoryTraits>(p);
  size_ = bytes;
}

void PinnedBytes::grow(size_t bytes) {
  if (bytes <= size_) return;
  memory_.reset();
  size_ = 0;
  void* p = nullptr;
  check(cudaHostAlloc(&p, bytes, cudaHostAllocDefault), "cudaHostAlloc");
  memory_ = UniqueHandle<void*, PinnedMemoryTraits>(p);
  size_ = bytes;
}

HostRegistration::HostRegistration(const void* memory, size_t bytes) {
  // The device only reads this memory; where the platform supports it,
  // saying so lets the driver skip write-back coherence work.
  int device = 0, read_only = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&read_only, cudaDevAttrHostRegisterReadOnlySupported, device),
        "cudaDeviceGetAttribute");
  void* p = const_cast<void*>(memory);
  const unsigned flags = cudaHostRegisterMapped | (read_only ? cudaHostRegisterReadOnly : 0u);
  check(cudaHostRegister(p, bytes, flags), "cudaHostRegister");
  registered_ = UniqueHandle<void*, RegistrationTraits>(p);
  void* mapped = nullptr;
  check(cudaHostGetDevicePointer(&mapped, p, 0), "cudaHostGetDevicePointer");
  device_pointer_ = static_cast<const uint8_t*>(mapped);
}

}  // namespace fgbi::kernels::cuda
