// Pictures of a run end to end: a short stories260K fine-tune draws training_curves.png/.svg
// beside training.jsonl (also when a signal stops it, and a failed drawing only warns), and
// `automodel plot RUN_DIR` redraws them or names the file and line of a bad log.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "integration/finetune_util.h"
#include "test_util.h"
#include "unit/train/plot_checks.h"

namespace automodel {
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

testing::CommandResult plot(const fs::path& dir) {
  return run_command(testing::automodel_binary() + " plot '" + dir.string() + "'");
}

TEST(PlotCli, ARunDrawsItsCurvesAndPlotRedrawsThem) {
  TempDir dir;
  const auto ckpt = dir / "ckpt";
  auto r = train(write_recipe(dir, kLora), "--step_scheduler.max_steps=4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("training curves: " + (ckpt / "training_curves.png").string()), std::string::npos) << r.output;
  const auto val_points = read_jsonl(ckpt / "validation.jsonl").size();
  EXPECT_GE(val_points, 2u);  // before training and after the last step
  testing::expect_training_pictures(ckpt, 4, val_points);
  const auto svg = slurp(ckpt / "training_curves.svg");

  fs::remove(ckpt / "training_curves.png");
  fs::remove(ckpt / "training_curves.svg");
  auto p = plot(ckpt);
  ASSERT_EQ(p.exit_code, 0) << p.output;
  EXPECT_NE(p.output.find((ckpt / "training_curves.png").string()), std::string::npos) << p.output;
  EXPECT_NE(p.output.find((ckpt / "training_curves.svg").string()), std::string::npos) << p.output;
  testing::expect_training_pictures(ckpt, 4, val_points);
  EXPECT_EQ(slurp(ckpt / "training_curves.svg"), svg) << "the same logs should draw the same picture";
}

TEST(PlotCli, BadLogsAreErrorsNamingFileAndLine) {
  TempDir dir;
  auto missing = plot(dir / "nothing");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("error: [plot] " + (dir / "nothing" / "training.jsonl").string() + " not found"),
            std::string::npos) << missing.output;
  std::ofstream(dir / "training.jsonl").flush();
  auto empty = plot(dir.path());
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.output.find("training.jsonl:1: expected at least one step"), std::string::npos) << empty.output;
  std::ofstream(dir / "training.jsonl") << R"({"step":1,"loss":2,"grad_norm":1,"lr":0.1,"tps":5})" << "\n"
                                        << R"({"step":2,"loss":2,"grad_)" << "\n";
  auto corrupt = plot(dir.path());
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_NE(corrupt.output.find((dir / "training.jsonl").string() + ":2: expected one JSON object per line"),
            std::string::npos) << corrupt.output;
  EXPECT_FALSE(fs::exists(dir / "training_curves.png"));
}

TEST(PlotCli, ARunStoppedBySignalStillDrawsItsCurves) {
  TempDir dir;
  const auto ckpt = dir / "ckpt";
  const auto log = (dir / "run.log").string();
  auto r = run_command("bash -c '" + testing::automodel_binary() + " " + write_recipe(dir, kLora) +
                       " --step_scheduler.max_steps=400 > " + log + " 2>&1 & PID=$!; for i in $(seq 600); do "
                       "[ $(cat " + (ckpt / "training.jsonl").string() + " 2>/dev/null | wc -l) -ge 2 ] && break; "
                       "sleep 0.05; done; kill -TERM $PID; wait $PID; STATUS=$?; cat " + log + "; exit $STATUS'");
  ASSERT_EQ(r.exit_code, 143) << r.output;
  EXPECT_NE(r.output.find("training curves: "), std::string::npos) << r.output;
  const auto steps = read_jsonl(ckpt / "training.jsonl").size();
  EXPECT_LT(steps, 400u);
  testing::expect_training_pictures(ckpt, steps, read_jsonl(ckpt / "validation.jsonl").size());
}

TEST(PlotCli, AFailedDrawingOnlyWarns) {
  TempDir dir;
  const auto ckpt = dir / "ckpt";
  fs::create_directories(ckpt / "training_curves.png" / "in_the_way");  // the PNG cannot be written
  auto r = train(write_recipe(dir, kLora), "--step_scheduler.max_steps=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count_of(r.output, "training curves not drawn"), 1u) << r.output;
  EXPECT_NE(r.output.find("cannot replace " + (ckpt / "training_curves.png").string()), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_symlink(ckpt / "LATEST")) << r.output;
}

}  // namespace
}  // namespace automodel
