// CRC-32C against the standard check value and TFRecord's masking.
#include <gtest/gtest.h>

#include "automodel/common/crc32c.h"

namespace automodel {

TEST(Crc32c, MatchesTheCastagnoliCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  // 32 zero bytes: RFC 3720 B.4 test vector.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
}

TEST(Crc32c, MaskRotatesAndAddsTheTfRecordConstant) {
  uint32_t crc = crc32c("123456789");
  EXPECT_EQ(masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

}  // namespace automodel
