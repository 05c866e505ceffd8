#!/bin/sh
# blas-core.sh CORE COMMAND...: runs COMMAND with OpenBLAS on the kernels of
# CORE (OPENBLAS_CORETYPE, e.g. Haswell: the AVX2 ones most laptops run), or
# with `native` on OpenBLAS's own choice for this CPU (both variables
# unset, whatever the environment sets).  The determinism and golden tests
# run under both (tests/meson.build, suite 'blas').
core=$1
shift
if [ "$core" = native ]; then
  unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
else
  OPENBLAS_CORETYPE=$core
  export OPENBLAS_CORETYPE
fi
exec "$@"
