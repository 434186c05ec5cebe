#include "sandbox/sandbox.h"

#include <gtest/gtest.h>

#include "core/logging.h"

namespace lightrl {
namespace {

TEST(SandboxTest, Smoke) {
  StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create(SandboxConfig());
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  LOG(INFO) << (*sandbox)->report().ToString();
  RunSpec spec;
  spec.argv = {"/usr/bin/python3", "main.py"};
  spec.files = {{"main.py", "import os\nprint(input()[::-1], os.getuid())\n"}};
  spec.stdin_data = "hello\n";
  StatusOr<RunResult> r = (*sandbox)->Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  LOG(INFO) << r->Summary() << " out=" << r->stdout_data << " err=" << r->stderr_data;
}

}  // namespace
}  // namespace lightrl
