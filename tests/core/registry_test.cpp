#include <gtest/gtest.h>

#include "core/registry.h"

namespace vdlab {
namespace {

Registry<int> make_registry() {
  Registry<int> r("sampler");
  r.add({"unipc", "UniPC", {{"steps", 20, "number of steps"}, {"order", 2, "order"}},
         [](const Params& p) { return p.get<int>("steps") * 10 + p.get<int>("order"); }});
  r.add({"ddim", "DDIM", {{"eta", 0.0, "noise"}}, [](const Params&) { return -1; }});
  return r;
}

TEST(RegistryTest, RejectsDuplicates) {
  auto r = make_registry();
  EXPECT_THROW(r.add({"ddim", "again", {}, [](const Params&) { return 0; }}), Error);
}

TEST(RegistryTest, UnknownNameSuggestsClosest) {
  auto r = make_registry();
  try {
    r.get("unpic", "variants[0].sampler");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "variants[0].sampler: unknown sampler 'unpic' (did you mean 'unipc'?)");
  }
}

TEST(RegistryTest, DefaultsAndUnknownFields) {
  auto r = make_registry();
  EXPECT_EQ(r.make("unipc", Json{{"steps", 10}}, "s"), 102);
  try {
    r.make("unipc", Json{{"stpes", 10}}, "variants[1].sampler");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "variants[1].sampler.stpes: unknown field (did you mean 'steps'?)");
  }
}

TEST(RegistryTest, WrongTypeNamesFieldPath) {
  auto r = make_registry();
  try {
    r.make("unipc", Json{{"steps", "ten"}}, "variants[1].sampler");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "variants[1].sampler.steps: expected integer, got string \"ten\"");
  }
}

TEST(RegistryTest, NestedEntriesResolveRecursively) {
  auto samplers = make_registry();
  ParamSpecs outer = {samplers.nested_param("sampler", Json{{"name", "unipc"}, {"order", 3}}, "how to step")};
  const Json resolved = resolve_params(Json{{"sampler", "ddim"}}, outer, "v");
  EXPECT_EQ(resolved, (Json{{"sampler", {{"name", "ddim"}, {"eta", 0.0}}}}));
  const Json with_default = resolve_params(Json::object(), outer, "v");
  EXPECT_EQ(with_default, (Json{{"sampler", {{"name", "unipc"}, {"order", 3}, {"steps", 20}}}}));
  EXPECT_EQ(samplers.make_resolved(with_default.at("sampler"), "v.sampler"), 203);
  EXPECT_THROW(resolve_params(Json{{"sampler", {{"name", "dpm"}}}}, outer, "v"), ConfigError);
}

TEST(RegistryTest, NestedListResolvesEachEntryAndNamesTheOneAtFault) {
  auto samplers = make_registry();
  ParamSpecs outer = {samplers.nested_list_param("hooks", "a list of entries")};
  const Json none = resolve_params(Json::object(), outer, "v");
  EXPECT_EQ(none.at("hooks"), Json::array());
  const Json two = resolve_params({{"hooks", Json::array({"ddim", {{"name", "unipc"}, {"order", 3}}})}}, outer, "v");
  EXPECT_EQ(two.at("hooks"), Json::parse(R"([{"name": "ddim", "eta": 0.0}, {"name": "unipc", "order": 3, "steps": 20}])"));
  auto message = [&](const Json& given) {
    try {
      resolve_params(given, outer, "variants[1]");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message({{"hooks", Json::array({"ddim", "unpic"})}}),
            "variants[1].hooks[1].name: unknown sampler 'unpic' (did you mean 'unipc'?)");
  EXPECT_EQ(message({{"hooks", Json::array({{{"order", 2}}})}}), "variants[1].hooks[0].name: missing");
  EXPECT_NE(message({{"hooks", Json::array({{{"name", "ddim"}, {"etta", 1.0}}})}}).find("variants[1].hooks[0].etta"),
            std::string::npos);
  EXPECT_NE(message({{"hooks", "ddim"}}).find("variants[1].hooks: expected a list"), std::string::npos);
}

}  // namespace
}  // namespace vdlab
