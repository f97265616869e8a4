#include "common/params.hpp"

#include <bit>
#include <cstdint>

namespace fgbi {
namespace {

struct ParamInfo {
  fgbi_param param;
  const char* name;
  ParamBounds bounds;
  ParamSide side;
};

constexpr ParamInfo kParams[] = {
    {FGBI_P_PAGE_SIZE, "FGBI_P_PAGE_SIZE", {4096, 4096, 4096}, ParamSide::kBoth},
    {FGBI_P_BLOCK_SIZE, "FGBI_P_BLOCK_SIZE", {32, 256, 64}, ParamSide::kBoth},
    {FGBI_P_TRACKED_PAGES, "FGBI_P_TRACKED_PAGES", {1, int64_t{1} << 32, 65536}, ParamSide::kBoth},
    {FGBI_P_THREADS, "FGBI_P_THREADS", {1, 256, 1}, ParamSide::kBoth},
    {FGBI_P_DIGEST, "FGBI_P_DIGEST", {0, 1, 1}, ParamSide::kBoth},
    {FGBI_P_BACKEND,
     "FGBI_P_BACKEND",
     {FGBI_BACKEND_AUTO, FGBI_BACKEND_CUDA, FGBI_BACKEND_AUTO},
     ParamSide::kBoth},
    {FGBI_P_MAX_EPOCH_BYTES,
     "FGBI_P_MAX_EPOCH_BYTES",
     {1 << 20, int64_t{1} << 40, 1 << 30},
     ParamSide::kReceiver},
    {FGBI_P_SHARING, "FGBI_P_SHARING", {0, 7, 7}, ParamSide::kSender},
    {FGBI_P_CODECS, "FGBI_P_CODECS", {0, 15, 15}, ParamSide::kSender},
    {FGBI_P_CACHE_BYTES, "FGBI_P_CACHE_BYTES", {0, int64_t{1} << 40, 64 << 20}, ParamSide::kSender},
    {FGBI_P_INDEX_BYTES, "FGBI_P_INDEX_BYTES", {0, int64_t{1} << 40, 16 << 20}, ParamSide::kSender},
    {FGBI_P_LINK_MBPS, "FGBI_P_LINK_MBPS", {1, 10000000, 1000}, ParamSide::kSender},
    {FGBI_P_ADAPTIVE, "FGBI_P_ADAPTIVE", {0, 1, 1}, ParamSide::kSender},
    {FGBI_P_STAGING_BYTES,
     "FGBI_P_STAGING_BYTES",
     {1 << 20, int64_t{1} << 40, int64_t{4} << 30},
     ParamSide::kSender},
    {FGBI_P_STREAM_ID, "FGBI_P_STREAM_ID", {0, INT64_MAX, 0}, ParamSide::kSender},
    {FGBI_P_TEST_HASH_BITS, "FGBI_P_TEST_HASH_BITS", {1, 64, 64}, ParamSide::kSender},
};

const ParamInfo* find(fgbi_param param) {
  for (const auto& info : kParams)
    if (info.param == param) return &info;
  return nullptr;
}

}  // namespace

const ParamBounds* param_bounds(fgbi_param param) {
  const ParamInfo* info = find(param);
  return info ? &info->bounds : nullptr;
}

bool param_applies(fgbi_param param, ParamSide side) {
  const ParamInfo* info = find(param);
  return info != nullptr && (info->side == ParamSide::kBoth || info->side == side);
}

const char* param_name(fgbi_param param) {
  const ParamInfo* info = find(param);
  return info ? info->name : nullptr;
}

fgbi_status check_param(fgbi_param param, int64_t value) {
  const ParamBounds* b = param_bounds(param);
  if (b == nullptr) return FGBI_E_PARAM_UNKNOWN;
  if (value < b->min || value > b->max) return FGBI_E_PARAM_OUT_OF_BOUNDS;
  if (param == FGBI_P_BLOCK_SIZE && !std::has_single_bit(static_cast<uint64_t>(value)))
    return FGBI_E_PARAM_OUT_OF_BOUNDS;
  return FGBI_OK;
}

fgbi_status Config::set(fgbi_param param, int64_t value) {
  if (fgbi_status st = check_param(param, value); st != FGBI_OK) return st;
  switch (param) {
    case FGBI_P_PAGE_SIZE: page_size = static_cast<uint32_t>(value); break;
    case FGBI_P_BLOCK_SIZE: block_size = static_cast<uint32_t>(value); break;
    case FGBI_P_TRACKED_PAGES: tracked_pages = static_cast<uint64_t>(value); break;
    case FGBI_P_THREADS: threads = static_cast<uint32_t>(value); break;
    case FGBI_P_DIGEST: digest = value != 0; break;
    case FGBI_P_BACKEND: backend = static_cast<int>(value); break;
    case FGBI_P_MAX_EPOCH_BYTES: max_epoch_bytes = static_cast<uint64_t>(value); break;
    case FGBI_P_SHARING: sharing = static_cast<uint32_t>(value); break;
    case FGBI_P_CODECS: codecs = static_cast<uint32_t>(value); break;
    case FGBI_P_CACHE_BYTES: cache_bytes = static_cast<uint64_t>(value); break;
    case FGBI_P_INDEX_BYTES: index_bytes = static_cast<uint64_t>(value); break;
    case FGBI_P_LINK_MBPS: link_mbps = static_cast<uint64_t>(value); break;
    case FGBI_P_ADAPTIVE: adaptive = value != 0; break;
    case FGBI_P_STAGING_BYTES: staging_bytes = static_cast<uint64_t>(value); break;
    case FGBI_P_STREAM_ID: stream_id = static_cast<uint64_t>(value); break;
    case FGBI_P_TEST_HASH_BITS: test_hash_bits = static_cast<uint32_t>(value); break;
  }
  return FGBI_OK;
}

fgbi_status Config::get(fgbi_param param, int64_t* value) const {
  switch (param) {
    case FGBI_P_PAGE_SIZE: *value = page_size; return FGBI_OK;
    case FGBI_P_BLOCK_SIZE: *value = block_size; return FGBI_OK;
    case FGBI_P_TRACKED_PAGES: *value = static_cast<int64_t>(tracked_pages); return FGBI_OK;
    case FGBI_P_THREADS: *value = threads; return FGBI_OK;
    case FGBI_P_DIGEST: *value = digest ? 1 : 0; return FGBI_OK;
    case FGBI_P_BACKEND: *value = backend; return FGBI_OK;
    case FGBI_P_MAX_EPOCH_BYTES: *value = static_cast<int64_t>(max_epoch_bytes); return FGBI_OK;
    case FGBI_P_SHARING: *value = sharing; return FGBI_OK;
    case FGBI_P_CODECS: *value = codecs; return FGBI_OK;
    case FGBI_P_CACHE_BYTES: *value = static_cast<int64_t>(cache_bytes); return FGBI_OK;
    case FGBI_P_INDEX_BYTES: *value = static_cast<int64_t>(index_bytes); return FGBI_OK;
    case FGBI_P_LINK_MBPS: *value = static_cast<int64_t>(link_mbps); return FGBI_OK;
    case FGBI_P_ADAPTIVE: *value = adaptive ? 1 : 0; return FGBI_OK;
    case FGBI_P_STAGING_BYTES: *value = static_cast<int64_t>(staging_bytes); return FGBI_OK;
    case FGBI_P_STREAM_ID: *value = static_cast<int64_t>(stream_id); return FGBI_OK;
    case FGBI_P_TEST_HASH_BITS: *value = test_hash_bits; return FGBI_OK;
  }
  return FGBI_E_PARAM_UNKNOWN;
}

}  // namespace fgbi
