// `automodel list-models`: every supported model_type with its HF class and features.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "automodel/models/registry.h"
#include "commands.h"

namespace automodel::cli {

void add_list_models(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("list-models", "List the supported model_types (config.json) with their HF class "
                                                "and features");
  auto markdown = std::make_shared<bool>(false);
  cmd->add_flag("--markdown", *markdown, "Print docs/models.md (a Markdown table)");
  cmd->callback([&run, markdown] {
    run = [markdown] {
      if (*markdown) {
        fmt::print("{}", models::models_markdown());
        return 0;
      }
      size_t type_width = 10, class_width = 8;
      for (const auto& arch : models::architectures()) {
        type_width = std::max(type_width, arch.model_type.size());
        class_width = std::max(class_width, arch.hf_class.size());
      }
      fmt::print("{:<{}}  {:<{}}  {}\n", "model_type", type_width, "HF class", class_width, "features");
      for (const auto& arch : models::architectures())
        fmt::print("{:<{}}  {:<{}}  {}\n", arch.model_type, type_width, arch.hf_class, class_width, arch.features);
      fmt::print("{} model types\n", models::architectures().size());
      return 0;
    };
  });
}

}  // namespace automodel::cli
