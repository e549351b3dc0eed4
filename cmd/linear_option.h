#pragma once
// --linear auto|aten|onednn, shared by run and bench (engine only: the
// front end links no libtorch).

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "hfjit/cpu_kernels.h"

namespace hfjit::cmd {

inline CLI::Option* add_linear_option(CLI::App& app, LinearKernel& kernel) {
  const std::map<std::string, LinearKernel> names{
      {"auto", LinearKernel::Auto}, {"aten", LinearKernel::Aten}, {"onednn", LinearKernel::OneDnn}};
  return app
      .add_option("--linear", kernel,
                  "fp32 Linear kernels on the CPU: auto (oneDNN where libtorch has it, the "
                  "default), aten (libtorch's MKL), onednn")
      ->transform(CLI::CheckedTransformer(names));
}

}  // namespace hfjit::cmd
