// automodel: fine-tune and inspect Hugging Face models from C++. Parses the command line,
// dispatches to a subcommand, and turns errors into one clear message and a non-zero exit.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>
#include <fmt/format.h>

#include "automodel/common/error.h"
#include "automodel/common/torch_util.h"
#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"automodel: fine-tune Hugging Face LLMs from their model folders"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "automodel 0.1.0");
  int threads = 0;
  app.add_option("--threads", threads, "CPU threads (default: all cores)");

  automodel::cli::Runner run;
  automodel::cli::add_inspect(app, run);
  automodel::cli::add_generate(app, run);
  automodel::cli::add_tokenize(app, run);
  automodel::cli::add_render_chat(app, run);
  auto* debug = app.add_subcommand("debug", "Developer tools: parity and numerics");
  debug->require_subcommand(1);
  automodel::cli::add_debug_forward(*debug, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    automodel::init_threads(threads);
    return run ? run() : 1;
  } catch (const automodel::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
  } catch (const c10::Error& e) {
    fmt::print(stderr, "error: [torch] {}\n", e.what_without_backtrace());
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
  }
  return 1;
}
