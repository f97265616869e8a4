// Chooses a backend's kernel table. Backends that are not compiled in (or
// find no device at run time) report nullptr.
#include "kernels.hpp"

namespace fgbi::kernels {

const KernelTable* find_kernels(Backend backend) {
  switch (backend) {
    case Backend::kAuto: {
      // SIMD runs every target Highway supports (down to its scalar
      // emulation), so it is the fastest CPU backend wherever it exists.
      const KernelTable* simd = simd_kernels();
      return simd != nullptr ? simd : scalar_kernels();
    }
    case Backend::kScalar: return scalar_kernels();
    case Backend::kSimd: return simd_kernels();
    case Backend::kCuda: return cuda_kernels();
  }
  return nullptr;
}

}  // namespace fgbi::kernels
