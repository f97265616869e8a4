// RAII owners of CUDA runtime objects, and the one way CUDA errors travel
// inside the backend: check() throws CudaFailure, which the backend's entry
// points catch (nothing throws across kernels.hpp or the C ABI).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace fgbi::kernels::cuda {

class CudaFailure : public std::runtime_error {
 public:
  CudaFailure(const char* what, cudaError_t error);
  cudaError_t error() const { return error_; }

 private:
  cudaError_t error_;
};

// Throws CudaFailure naming `what` unless status is cudaSuccess.
inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw CudaFailure(what, status);
}

// One owner of a handle type: Traits::destroy(handle) when non-null.
template <class Handle, class Traits>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(Handle handle) : handle_(handle) {}
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(std::exchange(other.handle_, Handle{})) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, Handle{});
    }
    return *this;
  }
  ~UniqueHandle() { reset(); }
  Handle get() const { return handle_; }
  explicit operator bool() const { return handle_ != Handle{}; }
  void reset() {
    // Errors while releasing (a lost device, a runtime already unloading at
    // exit) leave nothing to do.
    if (handle_ != Handle{}) Traits::destroy(handle_);
    handle_ = Handle{};
  }

 private:
  Handle handle_{};
};

struct StreamTraits {
  static void destroy(cudaStream_t s) { cudaStreamDestroy(s); }
};
struct EventTraits {
  static void destroy(cudaEvent_t e) { cudaEventDestroy(e); }
};
struct DeviceMemoryTraits {
  static void destroy(void* p) { cudaFree(p); }
};
struct PinnedMemoryTraits {
  static void destroy(void* p) { cudaFreeHost(p); }
};
struct RegistrationTraits {
  static void destroy(void* p) { cudaHostUnregister(p); }
};

// A stream that does not synchronise with the legacy default stream.
class Stream {
 public:
  Stream();
  cudaStream_t get() const { return stream_.get(); }

 private:
  UniqueHandle<cudaStream_t, StreamTraits> stream_;
};

// An event the host waits on by sleeping (no spinning core), optionally
// timed.
class Event {
 public:
  explicit Event(bool timing = false);
  cudaEvent_t get() const { return event_.get(); }
  void record(cudaStream_t stream);
  void synchronize() const;
  // Milliseconds from `start` to this event (both recorded, timed, done).
  float elapsed_ms_since(const Event& start) const;

 private:
  UniqueHandle<cudaEvent_t, EventTraits> event_;
};

// Untyped device or pinned host bytes; grow() reallocates (contents lost).
class DeviceBytes {
 public:
  uint8_t* data() const { return static_cast<uint8_t*>(memory_.get()); }
  size_t size() const { return size_; }
  void grow(size_t bytes);

 private:
  UniqueHandle<void*, DeviceMemoryTraits> memory_;
  size_t size_ = 0;
};

class PinnedBytes {
 public:
  uint8_t* data() const { return static_cast<uint8_t*>(memory_.get()); }
  size_t size() const { return size_; }
  void grow(size_t bytes);

 private:
  UniqueHandle<void*, PinnedMemoryTraits> memory_;
  size_t size_ = 0;
};

// Ordinary host memory page-locked and mapped for the device until
// destruction (cudaHostRegister: slow, so done once per region, never per
// epoch). The memory must stay mapped for the registration's lifetime.
class HostRegistration {
 public:
  HostRegistration(const void* memory, size_t bytes);
  // The address kernels use to read the memory over PCIe.
  const uint8_t* device_pointer() const { return device_pointer_; }

 private:
  UniqueHandle<void*, RegistrationTraits> registered_;
  const uint8_t* device_pointer_ = nullptr;
};

}  // namespace fgbi::kernels::cuda
