# libtorch from PyPI's torch==2.15.0 wheel, as scripts/fetch_libtorch unpacks
# it (HFJIT_LIBTORCH_DIR: torch/include, torch/lib, nvidia/cu13/lib).
#
# The wheel's own TorchConfig.cmake insists on a CUDA toolkit, so the imported
# target is defined here: hfjit links only libtorch_cpu.so and libc10.so, and
# no CUDA toolkit is needed to build or to run on a CPU. libtorch_cpu.so finds
# libgomp.so.1 beside it and libcudart.so.13 / libcupti.so.13 in
# ../../nvidia/cu13/lib through its own RPATH; our binaries find libtorch by
# RPATH too (set below, and relative to the binary once installed).
#
#   hfjit::torch        include dirs, C++20, libtorch_cpu + libc10
#   HFJIT_TORCH_LIBDIR  the folder holding libtorch_cpu.so
#   HFJIT_TORCH_INCLUDE_DIRS

set(HFJIT_LIBTORCH_DIR "${PROJECT_SOURCE_DIR}/.deps/libtorch" CACHE PATH
    "libtorch unpacked from the torch wheel by scripts/fetch_libtorch")

set(HFJIT_TORCH_LIBDIR "${HFJIT_LIBTORCH_DIR}/torch/lib")
set(HFJIT_TORCH_INCLUDE_DIRS
    "${HFJIT_LIBTORCH_DIR}/torch/include"
    "${HFJIT_LIBTORCH_DIR}/torch/include/torch/csrc/api/include")
if(EXISTS "${HFJIT_LIBTORCH_DIR}/torch/include/fmt")
  message(FATAL_ERROR "${HFJIT_LIBTORCH_DIR}/torch/include/fmt exists: libtorch's fmt 12 would shadow "
                      "Debian's fmt 9, which spdlog is built on. scripts/fetch_libtorch leaves it out.")
endif()
foreach(_f torch/lib/libtorch_cpu.so torch/lib/libc10.so torch/include/torch/headeronly/version.h)
  if(NOT EXISTS "${HFJIT_LIBTORCH_DIR}/${_f}")
    message(FATAL_ERROR "libtorch not found: ${HFJIT_LIBTORCH_DIR}/${_f} is missing. "
                        "Run scripts/fetch_libtorch, or set HFJIT_LIBTORCH_DIR.")
  endif()
endforeach()
file(STRINGS "${HFJIT_LIBTORCH_DIR}/torch/include/torch/headeronly/version.h" _v
     REGEX "define TORCH_VERSION_(MAJOR|MINOR|PATCH) ")
string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1.\\2.\\3" HFJIT_TORCH_VERSION "${_v}")
message(STATUS "libtorch ${HFJIT_TORCH_VERSION} from ${HFJIT_LIBTORCH_DIR}")

add_library(hfjit_c10 SHARED IMPORTED)
set_target_properties(hfjit_c10 PROPERTIES IMPORTED_LOCATION "${HFJIT_TORCH_LIBDIR}/libc10.so")
add_library(hfjit_torch_cpu SHARED IMPORTED)
set_target_properties(hfjit_torch_cpu PROPERTIES IMPORTED_LOCATION "${HFJIT_TORCH_LIBDIR}/libtorch_cpu.so")
add_library(hfjit_torch INTERFACE)
add_library(hfjit::torch ALIAS hfjit_torch)
# SYSTEM: libtorch's headers are not ours to warn about.
target_include_directories(hfjit_torch SYSTEM INTERFACE ${HFJIT_TORCH_INCLUDE_DIRS})
target_compile_features(hfjit_torch INTERFACE cxx_std_20)
target_link_libraries(hfjit_torch INTERFACE hfjit_torch_cpu hfjit_c10)
