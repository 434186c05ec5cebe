#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using ::testing::HasSubstr;

constexpr char kYaml[] = R"(
name: demo
actors:
  heartbeat:
    interval_ms: 200
    dead_after_ms: 1500
  verbose: true
  ratio: 0.25
  hosts: [a, b]
tasks:
  - kind: addition
    digits: 3
  - kind: sort
)";

TEST(ConfigTest, ReadsTypedValuesFromNestedSections) {
  auto root = ConfigNode::LoadString(kYaml, "run.yaml");
  ASSERT_TRUE(root.ok()) << root.status();
  std::string name;
  ASSERT_TRUE(root->Required("name", &name).ok());
  EXPECT_EQ(name, "demo");
  auto actors = root->Child("actors");
  ASSERT_TRUE(actors.ok());
  auto heartbeat = actors->Child("heartbeat");
  ASSERT_TRUE(heartbeat.ok());
  int64_t interval = 0;
  EXPECT_TRUE(heartbeat->Optional("interval_ms", &interval, 1, 60000).ok());
  EXPECT_EQ(interval, 200);
  bool verbose = false;
  EXPECT_TRUE(actors->Optional("verbose", &verbose).ok());
  EXPECT_TRUE(verbose);
  double ratio = 0;
  EXPECT_TRUE(actors->Optional("ratio", &ratio).ok());
  EXPECT_DOUBLE_EQ(ratio, 0.25);
  std::vector<std::string> hosts;
  EXPECT_TRUE(actors->Optional("hosts", &hosts).ok());
  EXPECT_EQ(hosts, (std::vector<std::string>{"a", "b"}));
  auto tasks = root->ChildList("tasks", true);
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[1].path(), "tasks[1]");
}

TEST(ConfigTest, OptionalKeepsDefaultWhenMissing) {
  auto root = ConfigNode::LoadString(kYaml, "run.yaml");
  ASSERT_TRUE(root.ok());
  int64_t port = 9100;
  EXPECT_TRUE(root->Optional("port", &port).ok());
  EXPECT_EQ(port, 9100);
  auto missing = root->OptionalChild("learner");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->Keys().empty());
}

TEST(ConfigTest, MissingRequiredKeyNamesFileKeyAndReason) {
  auto root = ConfigNode::LoadString(kYaml, "run.yaml");
  auto heartbeat = root->Child("actors")->Child("heartbeat");
  int64_t value = 0;
  Status s = heartbeat->Required("timeout_ms", &value);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "run.yaml: actors.heartbeat.timeout_ms: required key is missing");
}

TEST(ConfigTest, WrongTypeNamesFileKeyAndReason) {
  auto root = ConfigNode::LoadString("learner:\n  steps: many\n", "x.yaml");
  int64_t steps = 0;
  Status s = root->Child("learner")->Optional("steps", &steps);
  EXPECT_EQ(s.message(), "x.yaml: learner.steps: must be an integer, got 'many'");
}

TEST(ConfigTest, OutOfRangeNamesBoundsAndValue) {
  auto root = ConfigNode::LoadString("interval_ms: 0\n", "x.yaml");
  int64_t interval = 5;
  Status s = root->Optional("interval_ms", &interval, 1, 100);
  EXPECT_EQ(s.message(), "x.yaml: interval_ms: must be in [1, 100], got 0");
  EXPECT_EQ(interval, 5);
}

TEST(ConfigTest, UnknownKeyIsAnError) {
  auto root = ConfigNode::LoadString("a: 1\nb: 2\ntypo: 3\n", "x.yaml");
  Status s = root->ExpectOnlyKeys({"a", "b"});
  EXPECT_THAT(std::string(s.message()), HasSubstr("x.yaml: typo: unknown key"));
  EXPECT_TRUE(root->ExpectOnlyKeys({"a", "b", "typo"}).ok());
}

TEST(ConfigTest, ChoiceRejectsUnlistedValue) {
  auto root = ConfigNode::LoadString("mode: turbo\n", "x.yaml");
  std::string mode = "sync";
  Status s = root->OptionalChoice("mode", &mode, {"sync", "async"});
  EXPECT_EQ(s.message(), "x.yaml: mode: must be one of sync, async, got 'turbo'");
}

TEST(ConfigTest, SectionThatIsNotAMappingIsAnError) {
  auto root = ConfigNode::LoadString("actors: 3\n", "x.yaml");
  auto actors = root->OptionalChild("actors");
  EXPECT_EQ(actors.status().message(), "x.yaml: actors: must be a mapping, got '3'");
}

TEST(ConfigTest, SyntaxErrorNamesLine) {
  auto root = ConfigNode::LoadString("a: 1\nb: [1, 2\n", "bad.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_THAT(std::string(root.status().message()), HasSubstr("bad.yaml: line "));
}

TEST(ConfigTest, TopLevelMustBeAMapping) {
  auto root = ConfigNode::LoadString("- 1\n- 2\n", "list.yaml");
  EXPECT_EQ(root.status().message(), "list.yaml: the top level must be a mapping, got a list");
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto root = ConfigNode::LoadFile("/nonexistent/run.yaml");
  EXPECT_EQ(root.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(std::string(root.status().message()), HasSubstr("/nonexistent/run.yaml"));
}

TEST(ConfigTest, OverridesReplaceAndCreateKeys) {
  std::string dir = testing::MakeTempDir("config");
  std::string path = dir + "/run.yaml";
  std::ofstream(path) << kYaml;
  auto root = ConfigNode::LoadFile(
      path, {"actors.heartbeat.interval_ms=50", "learner.lr=1e-5", "actors.hosts=[x]"});
  ASSERT_TRUE(root.ok()) << root.status();
  int64_t interval = 0;
  EXPECT_TRUE(root->Child("actors")->Child("heartbeat")->Optional("interval_ms", &interval).ok());
  EXPECT_EQ(interval, 50);
  double lr = 0;
  EXPECT_TRUE(root->Child("learner")->Required("lr", &lr).ok());
  EXPECT_DOUBLE_EQ(lr, 1e-5);
  std::vector<std::string> hosts;
  EXPECT_TRUE(root->Child("actors")->Optional("hosts", &hosts).ok());
  EXPECT_EQ(hosts, std::vector<std::string>{"x"});
}

TEST(ConfigTest, MalformedOverrideIsAnError) {
  auto no_equals = ConfigNode::LoadString("a: 1\n", "x.yaml", {"a"});
  EXPECT_THAT(std::string(no_equals.status().message()), HasSubstr("expected dotted.key=value"));
  auto through_scalar = ConfigNode::LoadString("a: 1\n", "x.yaml", {"a.b=2"});
  EXPECT_THAT(std::string(through_scalar.status().message()), HasSubstr("a is not a mapping"));
}

}  // namespace
}  // namespace lightrl
