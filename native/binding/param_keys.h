// How an op's parameter object (a JavaScript record) becomes its struct of params.h: one
// table per struct (Keys<P>, below) lists each key, its type and the member it fills. The
// binding (ops.cc) reads the records through these tables and paramSchema() lists them, so
// the keys a test compares with lib/'s types are the keys the binding reads.
#pragma once
#include <cstdint>
#include "params.h"

namespace alexnet {

template <class P>
struct Key {
  enum Type { Integer, Number, Uint64, Boolean };
  const char* name;     // the JS key; Uint64: the low word's
  const char* hi_name;  // Uint64: the high word's key (a uint64 crosses as two uint32)
  Type type;
  int min;              // Integer: the least value allowed
  int P::*integer;
  float P::*number;
  uint64_t P::*u64;
  bool P::*flag;
};

template <class P>
constexpr Key<P> integer(const char* name, int P::*member, int min = 1) {
  return {name, nullptr, Key<P>::Integer, min, member, nullptr, nullptr, nullptr};
}
template <class P>
constexpr Key<P> number(const char* name, float P::*member) {
  return {name, nullptr, Key<P>::Number, 0, nullptr, member, nullptr, nullptr};
}
template <class P>
constexpr Key<P> uint64(const char* lo, const char* hi, uint64_t P::*member) {
  return {lo, hi, Key<P>::Uint64, 0, nullptr, nullptr, member, nullptr};
}
template <class P>
constexpr Key<P> boolean(const char* name, bool P::*member) {
  return {name, nullptr, Key<P>::Boolean, 0, nullptr, nullptr, nullptr, member};
}

// The tables: per struct, `name` (the struct's) and `keys`, in the order the binding reads them.
template <class P>
struct Keys;

template <>
struct Keys<ConvParams> {
  static constexpr const char* name = "ConvParams";
  static constexpr Key<ConvParams> keys[] = {
      integer("n", &ConvParams::n), integer("c", &ConvParams::c), integer("h", &ConvParams::h),
      integer("w", &ConvParams::w), integer("k", &ConvParams::k), integer("kh", &ConvParams::kh),
      integer("kw", &ConvParams::kw), integer("strideH", &ConvParams::stride_h),
      integer("strideW", &ConvParams::stride_w), integer("padH", &ConvParams::pad_h, 0),
      integer("padW", &ConvParams::pad_w, 0), integer("groups", &ConvParams::groups),
      boolean("relu", &ConvParams::relu),  // absent: false
  };
};

template <>
struct Keys<LrnParams> {
  static constexpr const char* name = "LrnParams";
  static constexpr Key<LrnParams> keys[] = {
      integer("n", &LrnParams::n), integer("c", &LrnParams::c), integer("h", &LrnParams::h),
      integer("w", &LrnParams::w), integer("size", &LrnParams::size), number("alpha", &LrnParams::alpha),
      number("beta", &LrnParams::beta), number("k", &LrnParams::k), integer("groups", &LrnParams::groups),
  };
};

template <>
struct Keys<PoolParams> {
  static constexpr const char* name = "PoolParams";
  static constexpr Key<PoolParams> keys[] = {
      integer("n", &PoolParams::n), integer("c", &PoolParams::c), integer("h", &PoolParams::h),
      integer("w", &PoolParams::w), integer("kh", &PoolParams::kh), integer("kw", &PoolParams::kw),
      integer("strideH", &PoolParams::stride_h), integer("strideW", &PoolParams::stride_w),
      integer("padH", &PoolParams::pad_h, 0), integer("padW", &PoolParams::pad_w, 0),
  };
};

template <>
struct Keys<LinearParams> {
  static constexpr const char* name = "LinearParams";
  static constexpr Key<LinearParams> keys[] = {
      integer("n", &LinearParams::n), integer("in", &LinearParams::in), integer("out", &LinearParams::out),
      boolean("relu", &LinearParams::relu)};  // absent: false
};

// count is the tensors' element count, not a key
template <>
struct Keys<DropoutParams> {
  static constexpr const char* name = "DropoutParams";
  static constexpr Key<DropoutParams> keys[] = {
      number("p", &DropoutParams::p),
      uint64("seedLo", "seedHi", &DropoutParams::seed),
      uint64("offsetLo", "offsetHi", &DropoutParams::offset),
  };
};

template <>
struct Keys<SoftmaxXentParams> {
  static constexpr const char* name = "SoftmaxXentParams";
  static constexpr Key<SoftmaxXentParams> keys[] = {
      integer("n", &SoftmaxXentParams::n), integer("classes", &SoftmaxXentParams::classes)};
};

// softmaxXentBackward's object: SoftmaxXentParams and the gradient's scale (an argument of
// the op, not a member of its struct).
struct SoftmaxXentBackwardParams {
  int n, classes;
  float scale;
};
template <>
struct Keys<SoftmaxXentBackwardParams> {
  static constexpr const char* name = "SoftmaxXentBackwardParams";
  static constexpr Key<SoftmaxXentBackwardParams> keys[] = {
      integer("n", &SoftmaxXentBackwardParams::n), integer("classes", &SoftmaxXentBackwardParams::classes),
      number("scale", &SoftmaxXentBackwardParams::scale)};
};

// count is the tensors' element count, not a key
template <>
struct Keys<SgdParams> {
  static constexpr const char* name = "SgdParams";
  static constexpr Key<SgdParams> keys[] = {
      number("lr", &SgdParams::lr), number("momentum", &SgdParams::momentum),
      number("weightDecay", &SgdParams::weight_decay)};
};

// count is the tensor's element count, not a key
template <>
struct Keys<NormalParams> {
  static constexpr const char* name = "NormalParams";
  static constexpr Key<NormalParams> keys[] = {
      number("mean", &NormalParams::mean),
      number("std", &NormalParams::std),
      uint64("seedLo", "seedHi", &NormalParams::seed),
      uint64("offsetLo", "offsetHi", &NormalParams::offset),
  };
};

// gemm's object (the op takes these as arguments; there is no struct in params.h).
struct GemmParams {
  int m, n, k;
  bool trans_a, trans_b;
  float alpha, beta;
  bool builtin;  // the CPU's built-in GEMM instead of the BLAS
};
template <>
struct Keys<GemmParams> {
  static constexpr const char* name = "GemmParams";
  static constexpr Key<GemmParams> keys[] = {
      integer("m", &GemmParams::m), integer("n", &GemmParams::n), integer("k", &GemmParams::k),
      boolean("transA", &GemmParams::trans_a), boolean("transB", &GemmParams::trans_b),
      number("alpha", &GemmParams::alpha), number("beta", &GemmParams::beta),
      boolean("builtin", &GemmParams::builtin),
  };
};

}  // namespace alexnet
