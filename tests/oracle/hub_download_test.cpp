// Hub downloads against a loopback hub (tests/oracles/fake_hub.py: the hub's API shape, LFS
// redirects to another host, Range, 401/404/429), with huggingface_hub from PyPI as the oracle:
// it finds every file we cached (try_to_load_from_cache, scan_cache_dir) and we find what it
// cached (snapshot_download, then our resolver offline).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <iterator>
#include <set>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/data/hub_dataset.h"
#include "automodel/data/rows.h"
#include "automodel/hf/model_source.h"
#include "integration/finetune_util.h"
#include "oracle/loopback_server.h"
#include "test_util.h"

namespace automodel {
namespace {

constexpr const char* kModel = "tiny-org/stories260K";
constexpr const char* kToken = "hf_test_secret";
// What we fetch of the stories260K repo (the fake hub adds pytorch_model.bin, onnx/, README.md).
const std::set<std::string> kModelFiles = {"config.json",     "generation_config.json", "model.safetensors",
                                           "tokenizer.json",  "tokenizer.model",        "tokenizer_config.json",
                                           "reference_greedy_ids.json"};

// The fake hub on two free loopback ports (the LFS "CDN" is the second), stopped at the end.
class FakeHub {
 public:
  FakeHub() : server_("fake_hub.py", fmt::format("0 0 {}", kToken)) {}
  bool up() const { return server_.up(); }
  std::string log_text() const { return server_.log(); }
  std::string endpoint() const { return server_.url(); }
  void faults(const nlohmann::json& list) const {
    std::ofstream(server_.dir() / "faults.json") << list.dump();
    run_command("curl -sf -m 5 -X POST --data-binary @'" + (server_.dir() / "faults.json").string() + "' " + endpoint() +
                "/_faults");
  }
  // Every request but the test's own /_log and /_faults calls.
  nlohmann::json requests() const {
    auto all = nlohmann::json::parse(run_command("curl -sf -m 5 " + endpoint() + "/_log").output);
    auto out = nlohmann::json::array();
    for (const auto& q : all)
      if (!q["path"].get<std::string>().starts_with("/_")) out.push_back(q);
    return out;
  }

 private:
  testing::LoopbackServer server_;
};

// HF_* variables for one test, restored after it.
class HubEnvironment {
 public:
  HubEnvironment(const fs::path& home, const std::string& endpoint) {
    for (const char* name : {"HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ENDPOINT", "HF_TOKEN",
                             "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}) {
      const char* v = std::getenv(name);
      saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
      ::unsetenv(name);
    }
    set("HF_HOME", home.string());
    set("HF_ENDPOINT", endpoint);
  }
  ~HubEnvironment() {
    for (const auto& [name, v] : saved_) v ? (void)::setenv(name.c_str(), v->c_str(), 1) : (void)::unsetenv(name.c_str());
  }
  void set(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }
  void unset(const char* name) { ::unsetenv(name); }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

std::string error_of(const std::function<void()>& f) { return testing::error_message_of<Error>(f); }

#define START_HUB(hub)                                                           \
  AUTOMODEL_REQUIRE_ORACLE("pyarrow");                                           \
  FakeHub hub;                                                                   \
  ASSERT_TRUE(hub.up()) << "fake hub did not start:\n" << hub.log_text()

// The cache as huggingface_hub sees it.
nlohmann::json hf_check(const fs::path& cache, const std::string& type, const std::string& repo,
                        const std::string& revision, const std::vector<std::string>& files) {
  std::string cmd = fmt::format("'{}' '{}' check '{}' {} {} {}", testing::python(),
                                testing::oracle_script("hf_hub_cache.py").string(), cache.string(), type, repo, revision);
  for (const auto& f : files) cmd += " '" + f + "'";
  auto r = run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.exit_code == 0 ? nlohmann::json::parse(r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1))
                          : nlohmann::json();
}

// snapshot_download by huggingface_hub; the snapshot folder it returns.
fs::path hf_download(const FakeHub& hub, const fs::path& cache, const std::string& type, const std::string& repo,
                     const std::string& revision) {
  auto r = run_command(fmt::format("HF_HUB_DISABLE_PROGRESS_BARS=1 '{}' '{}' download {} '{}' {} {} {}",
                                   testing::python(), testing::oracle_script("hf_hub_cache.py").string(),
                                   hub.endpoint(), cache.string(), type, repo, revision));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.substr(out.rfind('\n') + 1);
}

TEST(HubDownload, ModelIdDownloadsIntoTheCacheLayoutHuggingfaceHubReads) {
  AUTOMODEL_REQUIRE_ORACLE("huggingface_hub");
  START_HUB(hub);
  TempDir home;
  // The CLI end to end, with a token: it goes to the hub, never to the LFS host.
  auto r = run_command(fmt::format("HF_HOME='{}' HF_ENDPOINT={} HF_TOKEN={} HF_HUB_CACHE= HF_HUB_OFFLINE= {} inspect {}",
                                   home.path().string(), hub.endpoint(), kToken, testing::automodel_binary(), kModel));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("LlamaForCausalLM"), std::string::npos) << r.output;
  const auto repo = home / "hub" / "models--tiny-org--stories260K";
  const auto commit = read_file(repo / "refs" / "main");
  const auto snapshot = repo / "snapshots" / commit;
  std::set<std::string> got;
  for (const auto& e : fs::recursive_directory_iterator(snapshot))
    if (!e.is_directory()) got.insert(e.path().lexically_relative(snapshot).string());
  EXPECT_EQ(got, kModelFiles);  // no pytorch_model.bin, onnx/, README.md
  for (const auto& f : kModelFiles) {
    SCOPED_TRACE(f);
    ASSERT_TRUE(fs::is_symlink(snapshot / f));
    EXPECT_TRUE(fs::read_symlink(snapshot / f).string().starts_with("../../blobs/"));
    EXPECT_EQ(read_file(snapshot / f), read_file(testing::fixtures_dir() / "stories260K" / f));
  }
  bool lfs = false;
  for (const auto& q : hub.requests()) {
    if (q["port"] == "lfs") lfs = true;
    EXPECT_EQ(q["auth"].get<bool>(), q["port"] == "hub") << q.dump();
  }
  EXPECT_TRUE(lfs) << "model.safetensors came through the LFS redirect";

  std::vector<std::string> files(kModelFiles.begin(), kModelFiles.end());
  auto seen = hf_check(home / "hub", "model", kModel, "main", files);
  for (const auto& f : files) EXPECT_EQ(seen["found"][f], (snapshot / f).string()) << f;
  EXPECT_EQ(seen["scan"]["warnings"].size(), 0u) << seen.dump();
  ASSERT_EQ(seen["scan"]["repos"].size(), 1u) << seen.dump();
  const auto& scanned = seen["scan"]["repos"][0];
  EXPECT_EQ(scanned["repo_id"], kModel);
  EXPECT_EQ(scanned["refs"]["main"], commit);
  EXPECT_EQ(scanned["revisions"][commit], nlohmann::json(files));
}

TEST(HubDownload, WeResolveWhatHuggingfaceHubCachedOffline) {
  AUTOMODEL_REQUIRE_ORACLE("huggingface_hub");
  START_HUB(hub);
  TempDir home;
  auto theirs = hf_download(hub, home / "hub", "model", kModel, "v1");
  auto data = hf_download(hub, home / "hub", "dataset", "tiny-org/qa", "main");
  HubEnvironment env(home.path(), "http://127.0.0.1:9");  // nothing listens: cache only
  env.set("HF_HUB_OFFLINE", "1");
  const auto before = hub.requests().size();
  EXPECT_EQ(hf::resolve_model_folder(kModel, "v1"), theirs);
  EXPECT_EQ(data::resolve_dataset_path("tiny-org/qa", "train"), data.string());
  EXPECT_EQ(data::read_rows(data::resolve_dataset_path("tiny-org/qa", "test"), "test", SIZE_MAX).size(), 16u);
  EXPECT_EQ(hub.requests().size(), before);
}

// Acceptance: an AutoModel recipe naming a hub model and a hub dataset runs from a cache
// huggingface_hub filled, offline; and one we fill online is one huggingface_hub reads.
TEST(HubDownload, RecipeWithHubModelAndDatasetRunsFromEitherToolsCache) {
  AUTOMODEL_REQUIRE_ORACLE("huggingface_hub");
  START_HUB(hub);
  const std::string extra = "--model.pretrained_model_name_or_path=tiny-org/stories260K --model.revision=v1 "
                            "--dataset.path_or_dataset_id=hf://datasets/tiny-org/gsm8k/main "
                            "--validation_dataset.path_or_dataset_id=hf://datasets/tiny-org/gsm8k/main "
                            "--validation_dataset.split=test --step_scheduler.max_steps=2";
  {
    TempDir home, dir;
    hf_download(hub, home / "hub", "model", kModel, "v1");
    hf_download(hub, home / "hub", "dataset", "tiny-org/gsm8k", "main");
    auto r = run_command(fmt::format("HF_HOME='{}' HF_HUB_OFFLINE=1 HF_ENDPOINT=http://127.0.0.1:9 AUTOMODEL_DATASET_CACHE=0 "
                                     "{} {} {}", home.path().string(), testing::automodel_binary(),
                                     write_recipe(dir), extra));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("step 2 |"), std::string::npos) << r.output;
  }
  TempDir home, dir;
  auto r = run_command(fmt::format("HF_HOME='{}' HF_ENDPOINT={} HF_HUB_OFFLINE= AUTOMODEL_DATASET_CACHE=0 {} {} {}",
                                   home.path().string(), hub.endpoint(), testing::automodel_binary(),
                                   write_recipe(dir), extra));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto seen = hf_check(home / "hub", "dataset", "tiny-org/gsm8k", "main",
                       {"main/train-00000-of-00001.parquet", "main/test-00000-of-00001.parquet", "README.md"});
  EXPECT_TRUE(seen["found"]["main/train-00000-of-00001.parquet"].is_string()) << seen.dump();
  EXPECT_TRUE(seen["found"]["main/test-00000-of-00001.parquet"].is_string()) << seen.dump();
  EXPECT_TRUE(seen["found"]["README.md"].is_null()) << "only data files are fetched";
  EXPECT_EQ(seen["scan"]["warnings"].size(), 0u) << seen.dump();
  std::set<std::string> repos;
  for (const auto& repo : seen["scan"]["repos"]) repos.insert(repo["repo_type"].get<std::string>() + " " + repo["repo_id"].get<std::string>());
  EXPECT_EQ(repos, (std::set<std::string>{"dataset tiny-org/gsm8k", "model tiny-org/stories260K"}));
  // model.revision took effect: the v1 tag's generation_config.json.
  auto model = hf_check(home / "hub", "model", kModel, "v1", {"generation_config.json"});
  ASSERT_TRUE(model["found"]["generation_config.json"].is_string()) << model.dump();
  EXPECT_NE(read_file(model["found"]["generation_config.json"].get<std::string>()).find("\"max_length\": 7"),
            std::string::npos);
}

TEST(HubDownload, RevisionsResolveThroughRefsAndHfUris) {
  START_HUB(hub);
  TempDir home;
  HubEnvironment env(home.path(), hub.endpoint());
  auto main = hf::resolve_model_folder(kModel);
  auto v1 = hf::resolve_model_folder(kModel, "v1");
  EXPECT_NE(main, v1);
  EXPECT_EQ(v1.filename().string(), read_file(home / "hub" / "models--tiny-org--stories260K" / "refs" / "v1"));
  EXPECT_NE(read_file(v1 / "generation_config.json"), read_file(main / "generation_config.json"));
  // Shared blobs are fetched once: v1 differs from main in one file only.
  size_t blobs = 0;
  for (const auto& e : fs::directory_iterator(home / "hub" / "models--tiny-org--stories260K" / "blobs")) blobs += !e.is_directory();
  EXPECT_EQ(blobs, kModelFiles.size() + 1);
  EXPECT_EQ(hf::resolve_model_folder("hf://tiny-org/stories260K@v1"), v1);
  EXPECT_EQ(hf::resolve_model_folder(std::string(kModel), v1.filename().string()), v1);  // a commit
  EXPECT_EQ(hf::resolve_model_folder("hf://tiny-org/stories260K@v1/config.json"), v1 / "config.json");
}

TEST(HubDownload, InterruptedDownloadResumesWithARangeRequest) {
  START_HUB(hub);
  TempDir home;
  HubEnvironment env(home.path(), hub.endpoint());
  const auto weights = read_file(testing::fixtures_dir() / "stories260K" / "model.safetensors");
  // The transfer is cut after 300000 bytes; the retry asks for the rest.
  hub.faults({{{"match", "/lfs/"}, {"cut_after", 300000}, {"times", 1}}});
  auto folder = hf::resolve_model_folder(kModel);
  EXPECT_EQ(read_file(folder / "model.safetensors"), weights);
  std::vector<std::string> ranges;
  for (const auto& q : hub.requests())
    if (q["port"] == "lfs") ranges.push_back(q["range"].is_string() ? q["range"].get<std::string>() : "none");
  EXPECT_EQ(ranges, (std::vector<std::string>{"none", "bytes=300000-"}));
  // A process that died mid-download left blobs/<sha256>.incomplete: the next run resumes it.
  TempDir home2;
  HubEnvironment env2(home2.path(), hub.endpoint());
  const std::string sha = "c549afd8464a1250200b5338d39d23d0bf096c7f6578944268d40512c133daa6";
  const auto blobs = home2 / "hub" / "models--tiny-org--stories260K" / "blobs";
  fs::create_directories(blobs);
  std::ofstream(blobs / (sha + ".incomplete"), std::ios::binary) << weights.substr(0, 1000);
  const auto before = hub.requests().size();
  EXPECT_EQ(read_file(hf::resolve_model_folder(kModel) / "model.safetensors"), weights);
  auto log = hub.requests();
  std::vector<std::string> resumed;
  for (size_t i = before; i < log.size(); ++i)
    if (log[i]["port"] == "lfs") resumed.push_back(log[i]["range"].get<std::string>());
  EXPECT_EQ(resumed, std::vector<std::string>{"bytes=1000-"});
  EXPECT_FALSE(fs::exists(blobs / (sha + ".incomplete")));
}

// An LFS blob is named by its sha256: bytes that hash otherwise (one flipped byte here) are an
// error naming the file, and neither a blob nor a partial file is left to be trusted later.
TEST(HubDownload, ACorruptedLfsTransferIsCaughtByItsSha256AndNothingIsCached) {
  START_HUB(hub);
  TempDir home;
  HubEnvironment env(home.path(), hub.endpoint());
  hub.faults({{{"match", "/lfs/"}, {"corrupt_at", 12345}, {"times", 1}}});
  auto message = error_of([] { hf::resolve_model_folder(kModel); });
  EXPECT_NE(message.find("model.safetensors: the downloaded bytes have sha256"), std::string::npos) << message;
  EXPECT_NE(message.find("the hub says c549afd8464a1250200b5338d39d23d0bf096c7f6578944268d40512c133daa6"),
            std::string::npos) << message;
  const auto blobs = home / "hub" / "models--tiny-org--stories260K" / "blobs";
  for (const auto& e : fs::directory_iterator(blobs))
    EXPECT_FALSE(e.path().filename().string().starts_with("c549afd8")) << e.path();
  // The fault is used up: the next run downloads the right bytes.
  EXPECT_EQ(read_file(hf::resolve_model_folder(kModel) / "model.safetensors"),
            read_file(testing::fixtures_dir() / "stories260K" / "model.safetensors"));
}

TEST(HubDownload, Unauthorized401SaysToSetHfTokenAndNamesTheRepo) {
  START_HUB(hub);
  TempDir home;
  HubEnvironment env(home.path(), hub.endpoint());
  auto message = error_of([] { hf::resolve_model_folder("tiny-org/private-stories"); });
  EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
  EXPECT_NE(message.find("HF_TOKEN"), std::string::npos) << message;
  EXPECT_NE(message.find("tiny-org/private-stories"), std::string::npos) << message;
  env.set("HF_TOKEN", "wrong");
  message = error_of([] { hf::resolve_model_folder("tiny-org/private-stories"); });
  EXPECT_NE(message.find("the token from HF_TOKEN was refused"), std::string::npos) << message;
  // The token file `hf auth login` writes under HF_HOME.
  env.unset("HF_TOKEN");
  write_file_atomic(home / "token", std::string(kToken) + "\n");
  EXPECT_TRUE(fs::is_regular_file(hf::resolve_model_folder("tiny-org/private-stories") / "model.safetensors"));
}

TEST(HubDownload, NotFound404NamesRepoRevisionAndFile) {
  START_HUB(hub);
  TempDir home;
  HubEnvironment env(home.path(), hub.endpoint());
  auto message = error_of([] { hf::resolve_model_folder("tiny-org/nope"); });
  EXPECT_NE(message.find("repo tiny-org/nope"), std::string::npos) << message;
  message = error_of([] { hf::resolve_model_folder(kModel, "v9"); });
  EXPECT_NE(message.find("revision 'v9' does not exist in tiny-org/stories260K"), std::string::npos) << message;
  hub.faults({{{"match", "/resolve/"}, {"status", 404}, {"headers", {{"X-Error-Code", "EntryNotFound"}}}, {"times", 1},
               {"methods", {"GET"}}}});
  message = error_of([] { hf::resolve_model_folder("hf://tiny-org/stories260K/config.json"); });
  EXPECT_NE(message.find("file 'config.json' does not exist in tiny-org/stories260K at revision 'main'"),
            std::string::npos) << message;
}

TEST(HubDownload, RateLimit429IsRetriedAsRetryAfterSays) {
  START_HUB(hub);
  TempDir home;
  HubEnvironment env(home.path(), hub.endpoint());
  hub.faults({{{"match", "/api/models/"}, {"status", 429}, {"retry_after", "1"}, {"times", 2}}});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(fs::is_directory(hf::resolve_model_folder(kModel)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  size_t listings = 0;
  for (const auto& q : hub.requests()) listings += q["path"].get<std::string>().starts_with("/api/models/");
  EXPECT_EQ(listings, 3u);
  // A hub that keeps refusing: a clear error after the retries.
  hub.faults({{{"match", "/api/models/"}, {"status", 429}, {"retry_after", "0"}, {"times", 100}}});
  auto message = error_of([] { hf::resolve_model_folder("tiny-org/private-stories"); });
  EXPECT_NE(message.find("rate limited"), std::string::npos) << message;
  EXPECT_NE(message.find("HTTP 429"), std::string::npos) << message;
}

TEST(HubDownload, OfflineUsesTheCacheOnlyAndNamesWhatIsMissing) {
  START_HUB(hub);
  TempDir home;
  HubEnvironment env(home.path(), hub.endpoint());
  auto online = hf::resolve_model_folder(kModel);
  const auto before = hub.requests().size();
  env.set("HF_HUB_OFFLINE", "1");
  EXPECT_EQ(hf::resolve_model_folder(kModel), online);
  EXPECT_EQ(hub.requests().size(), before) << "offline sends nothing";
  auto message = error_of([] { hf::resolve_model_folder(kModel, "v1"); });
  EXPECT_NE(message.find("HF_HUB_OFFLINE"), std::string::npos) << message;
  EXPECT_NE(message.find((home / "hub" / "models--tiny-org--stories260K" / "refs" / "v1").string()), std::string::npos)
      << message;
  // Online but the hub is unreachable: the cached snapshot serves, with a warning.
  env.unset("HF_HUB_OFFLINE");
  env.set("HF_ENDPOINT", "http://127.0.0.1:9");
  EXPECT_EQ(hf::resolve_model_folder(kModel), online);
}

TEST(HubDownload, DatasetIdsFetchDataFilesAndResolveToTheSplitFolder) {
  START_HUB(hub);
  TempDir home;
  HubEnvironment env(home.path(), hub.endpoint());
  auto folder = fs::path(data::resolve_dataset_path("tiny-org/qa", "train"));
  std::set<std::string> got;
  for (const auto& e : fs::recursive_directory_iterator(folder))
    if (!e.is_directory()) got.insert(e.path().lexically_relative(folder).string());
  EXPECT_EQ(got, (std::set<std::string>{"data/train-00000-of-00001.parquet", "data/test-00000-of-00001.jsonl"}));
  EXPECT_EQ(data::read_rows(folder.string(), "train", SIZE_MAX).size(), 240u);
  EXPECT_EQ(data::read_rows(folder.string(), "test", SIZE_MAX).size(), 16u);
  // Several configs: the recipe names one.
  auto message = error_of([] { data::resolve_dataset_path("tiny-org/gsm8k", "train"); });
  EXPECT_NE(message.find("hf://datasets/tiny-org/gsm8k/<config>"), std::string::npos) << message;
  auto main = data::resolve_dataset_path("hf://datasets/tiny-org/gsm8k/main", "test");
  EXPECT_EQ(fs::path(main).filename(), "main");
  EXPECT_EQ(data::read_rows(main, "test", SIZE_MAX).size(), 16u);
  // A missing local file stays a local path.
  EXPECT_EQ(data::resolve_dataset_path("data/train.jsonl", "train"), "data/train.jsonl");
}

}  // namespace
}  // namespace automodel
