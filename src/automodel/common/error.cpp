#include "automodel/common/error.h"

namespace automodel {

void throw_error(const std::string& message) { throw Error(message); }

}  // namespace automodel
