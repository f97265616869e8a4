// The guard every C entry point runs its body in: a null context or an
// exception escaping the C++ side becomes an fgbi_status, never a crash.
#pragma once

#include <new>

#include "fgbi.h"

namespace fgbi {

template <typename Ctx, typename Fn>
fgbi_status guarded(Ctx* ctx, Fn&& fn) noexcept {
  if (ctx == nullptr) return FGBI_E_NULL_ARGUMENT;
  try {
    return fn(*ctx);
  } catch (const std::bad_alloc&) {
    return FGBI_E_NO_MEMORY;
  } catch (...) {
    return FGBI_E_INTERNAL;
  }
}

}  // namespace fgbi
