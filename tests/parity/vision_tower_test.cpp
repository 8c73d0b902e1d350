// SigLIP's vision tower against transformers 4.57's golden outputs (tests/fixtures/hf/siglip):
// forward, every hidden state, the attention-pooling head, and the gradients the fixture keeps.
#include "parity/vision_tower_parity.h"
#include "test_util.h"

namespace automodel {
namespace {

TEST(VisionTowerFixture, SiglipMatchesTransformers457) {
  EXPECT_EQ(testing::expect_vision_tower_matches(testing::fixtures_dir() / "hf" / "siglip"), 7);
}

}  // namespace
}  // namespace automodel
