// Chooses a backend's kernel table. Backends that are not compiled in (or
// find no device at run time) report nullptr.
#include "kernels.hpp"

namespace fgbi::kernels {

const KernelTable* find_kernels(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
    case Backend::kScalar: return scalar_kernels();
    case Backend::kSimd:
    case Backend::kCuda: return nullptr;
  }
  return nullptr;
}

}  // namespace fgbi::kernels
