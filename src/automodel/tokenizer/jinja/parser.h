// Jinja source -> syntax tree, with jinja2's whitespace rules (trim_blocks, lstrip_blocks,
// "-" and "+" modifiers) applied while splitting text from tags.
#pragma once

#include <string>

#include "automodel/tokenizer/jinja/ast.h"

namespace automodel::tokenizer::jinja {

Body parse_template(const std::string& source, const std::string& label);

}  // namespace automodel::tokenizer::jinja
