// automodel: fine-tune and inspect Hugging Face models from C++. Parses the command line,
// dispatches to a subcommand, and turns errors into one clear message and a non-zero exit.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>
#include <fmt/format.h>

#include "automodel/common/build_info.h"
#include "automodel/common/error.h"
#include "automodel/common/torch_util.h"
#include "commands.h"

namespace {

// Errors become one line on stderr and exit code 1.
template <typename F>
int guarded(F&& body) {
  try {
    return body();
  } catch (const automodel::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
  } catch (const c10::Error& e) {
    fmt::print(stderr, "error: [torch] {}\n", e.what_without_backtrace());
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && automodel::cli::looks_like_recipe(argv[1])) {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return guarded([&] { return automodel::cli::run_recipe(argv[1], rest); });
  }
  CLI::App app{"automodel: fine-tune Hugging Face LLMs from their model folders\n"
               "  automodel <recipe.yaml> [--section.key=value ...]   run a fine-tuning recipe"};
  app.require_subcommand(1);
  // What users paste into a bug report: versions compiled in, GPUs visible, the CPU's ISA.
  app.set_version_flag("--version", [] { return "automodel 0.1.0\n" + automodel::build_info(); });
  int threads = 0;
  app.add_option("--threads", threads, "CPU threads (default: all cores)");

  automodel::cli::Runner run;
  automodel::cli::add_inspect(app, run);
  automodel::cli::add_generate(app, run);
  automodel::cli::add_tokenize(app, run);
  automodel::cli::add_render_chat(app, run);
  automodel::cli::add_merge_lora(app, run);
  automodel::cli::add_consolidate(app, run);
  automodel::cli::add_slurm(app, run);
  automodel::cli::add_plot(app, run);
  automodel::cli::add_list_models(app, run);
  auto* debug = app.add_subcommand("debug", "Developer tools: parity and numerics");
  debug->require_subcommand(1);
  automodel::cli::add_debug_forward(*debug, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return guarded([&] {
    automodel::init_threads(threads);
    return run ? run() : 1;
  });
}
