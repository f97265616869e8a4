// Builds without nvcc: the CUDA backend is never available.
#include "kernels.hpp"

namespace fgbi::kernels {

const KernelTable* cuda_kernels() { return nullptr; }

}  // namespace fgbi::kernels
