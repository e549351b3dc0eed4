#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace hfjit::test {

TempFolder::TempFolder() {
  std::string tmpl = (fs::temp_directory_path() / "hfjit-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempFolder::~TempFolder() {
  std::error_code ec;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto& e : fs::recursive_directory_iterator(path_, ec))
    fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path_, ec);
}

std::string fixture(const std::string& relative) {
  return std::string(HFJIT_FIXTURES) + "/" + relative;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string safetensors_image(const std::string& header_json, size_t data_size) {
  std::string s;
  uint64_t n = header_json.size();
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  s += header_json;
  s += std::string(data_size, '\x01');
  return s;
}

std::string tree_fingerprint(const std::string& dir) {
  std::ostringstream s;
  std::vector<std::string> lines;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    std::error_code ec;
    auto t = fs::last_write_time(e.path(), ec).time_since_epoch().count();
    lines.push_back(e.path().string() + " " +
                    (e.is_regular_file() ? std::to_string(fs::file_size(e.path())) : "dir") + " " +
                    std::to_string(t));
  }
  std::sort(lines.begin(), lines.end());
  for (auto& l : lines) s << l << "\n";
  return s.str();
}

namespace {

[[maybe_unused]] std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const std::string& env) {
#ifdef HFJIT_BIN
  return run_program(HFJIT_BIN, args, env);
#else
  (void)args;
  (void)env;
  throw std::runtime_error("run_cli needs HFJIT_BIN");
#endif
}

CliResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::string& env) {
  TempFolder tmp;
  std::string cmd = env.empty() ? "" : env + " ";
  cmd += quote(program);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(tmp / "out") + " 2>" + quote(tmp / "err") + " </dev/null";
  int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(tmp / "out");
  r.err = slurp(tmp / "err");
  return r;
}

}  // namespace hfjit::test
