// `automodel debug forward`: runs a model folder on saved inputs and writes logits, loss, hidden
// states, router logits and gradients under the names HF fixtures use, for parity checks.
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/zeros_like.h>
#include <CLI/CLI.hpp>

#include <map>
#include <set>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/safetensors.h"
#include "automodel/hf/safetensors_writer.h"
#include "automodel/models/common/attention.h"
#include "automodel/models/common/loss.h"
#include "automodel/models/registry.h"
#include "commands.h"

namespace automodel::cli {
namespace {

struct DebugForwardArgs {
  std::string model, inputs, out, grads = "all", dtype = "fp32", device = "cpu";
  std::string attn_implementation = "eager";  // as HF's parity fixtures are made
};

at::Tensor read_input(const hf::SafetensorsCheckpoint& in, const std::string& name, const std::string& file, bool required) {
  if (!in.contains(name)) {
    AM_CHECK(!required, "[debug forward] {}: required tensor '{}' is missing", file, name);
    return {};
  }
  auto view = in.get(name);
  auto dt = view.entry->dtype;
  AM_CHECK(dt == hf::DType::I64 || dt == hf::DType::I32 || dt == hf::DType::BOOL || dt == hf::DType::U8,
           "[debug forward] {}: '{}' must be an integer tensor, found {}", file, name, hf::dtype_name(dt));
  AM_CHECK(view.entry->shape.size() == 2, "[debug forward] {}: '{}' must be (batch, seq), found shape {}", file, name,
           format_shape(view.entry->shape));
  return tensor_from_view(view, at::kLong, c10::Device(c10::kCPU));
}

// A VLM input (pixel_values, image_grid_thw, pixel_attention_mask) of any shape, as `dtype`;
// undefined when absent.
at::Tensor read_image_input(const hf::SafetensorsCheckpoint& in, const std::string& name, at::ScalarType dtype,
                            c10::Device device) {
  return in.contains(name) ? tensor_from_view(in.get(name), dtype, device) : at::Tensor();
}

int run_debug_forward(const DebugForwardArgs& args) {
  models::LoadOptions load;  // the flags are checked before any file is read
  load.dtype = parse_compute_dtype(args.dtype);
  load.device = parse_device(args.device);
  models::set_attention_impl(models::parse_attention_impl(args.attn_implementation));
  auto inputs_file = hf::SafetensorsCheckpoint::open(args.inputs);
  // Images make it a VLM forward: the checkpoint's vision tower and projector are built too.
  load.vision = inputs_file.contains("pixel_values");
  auto model = models::load_pretrained(args.model, load);

  models::ModelInputs inputs;
  inputs.pixel_values = read_image_input(inputs_file, "pixel_values", load.dtype, load.device);
  inputs.image_grid_thw = read_image_input(inputs_file, "image_grid_thw", at::kLong, load.device);
  inputs.pixel_attention_mask = read_image_input(inputs_file, "pixel_attention_mask", at::kBool, load.device);
  inputs.input_ids = read_input(inputs_file, "input_ids", args.inputs, true).to(load.device);
  auto labels = read_input(inputs_file, "labels", args.inputs, false);
  auto position_ids = read_input(inputs_file, "position_ids", args.inputs, false);
  if (position_ids.defined()) inputs.position_ids = position_ids.to(load.device);
  auto attention_mask = read_input(inputs_file, "attention_mask", args.inputs, false);
  AM_CHECK(!attention_mask.defined() || attention_mask.min().item<int64_t>() == 1,
           "[debug forward] {}: attention_mask with padding (zeros) is not supported; pass unpadded rows", args.inputs);
  for (const auto& t : {labels, position_ids})
    AM_CHECK(!t.defined() || t.sizes() == inputs.input_ids.sizes(), "[debug forward] {}: labels/position_ids shape {} != input_ids shape {}",
             args.inputs, format_shape(t.sizes().vec()), format_shape(inputs.input_ids.sizes().vec()));

  // Which gradients to keep: all, none, or a comma-separated list of HF parameter names.
  auto params = model->named_parameters();
  std::set<std::string> wanted;
  if (labels.defined() && args.grads != "none") {
    std::vector<std::string> names;
    for (const auto& p : params)
      if (p.trainable) names.push_back(p.name);
    if (args.grads == "all") {
      wanted.insert(names.begin(), names.end());
    } else {
      for (const auto& n : split(args.grads, ',')) {
        bool known = std::find(names.begin(), names.end(), n) != names.end();
        auto hint = nearest_name(n, names);
        AM_CHECK(known, "[debug forward] --grads: no parameter named '{}'{}", n, hint.empty() ? "" : " (did you mean '" + hint + "'?)");
        wanted.insert(n);
      }
    }
  }
  for (const auto& p : params) p.tensor->set_requires_grad(wanted.count(p.name) > 0);

  models::ForwardOptions options;
  options.collect_hidden_states = true;
  auto out = model->forward(inputs, options);
  auto logits = model->logits(out.hidden);

  std::vector<std::pair<std::string, at::Tensor>> results;
  auto keep = [&](const std::string& name, const at::Tensor& t) {
    results.emplace_back(name, t.detach().to(at::kFloat).cpu().contiguous());
  };
  keep("logits", logits);
  for (size_t i = 0; i < out.hidden_states.size(); ++i) keep(fmt::format("hidden_states.{}", i), out.hidden_states[i]);
  for (size_t i = 0; i < out.layer_outputs.size(); ++i) keep(fmt::format("layer_output.{}", i), out.layer_outputs[i]);
  for (const auto& [name, t] : out.router_logits) keep("router_logits." + name, t);
  for (const auto& [name, t] : out.extra_outputs) keep(name, t);
  if (labels.defined()) {
    auto loss = models::causal_lm_loss(logits, labels.to(load.device));
    if (auto aux = model->auxiliary_loss(out); aux.defined()) loss = loss + aux.to(loss.scalar_type());
    keep("loss", loss);
    if (!wanted.empty()) {
      loss.backward();
      for (const auto& p : params)
        // An expert that received no tokens has no gradient: it is zero (HF's fused experts report zeros).
        if (wanted.count(p.name))
          keep("grad." + p.name, p.tensor->grad().defined() ? p.tensor->grad() : at::zeros_like(*p.tensor));
    }
  }

  std::vector<hf::TensorToWrite> tensors;
  for (const auto& [name, t] : results)
    tensors.push_back({name, hf::DType::F32, t.sizes().vec(), t.data_ptr(), t.nbytes()});
  hf::write_safetensors(args.out, tensors);
  log_info("wrote {} tensors to {}", tensors.size(), args.out);
  return 0;
}

}  // namespace

void add_debug_forward(CLI::App& debug, Runner& run) {
  auto args = std::make_shared<DebugForwardArgs>();
  auto* cmd = debug.add_subcommand("forward", "Forward (+ backward of HF's loss when labels are given) on saved inputs");
  cmd->add_option("--model", args->model, "HF model folder or hub id (org/name, hf://org/name@revision)")->required();
  cmd->add_option("--inputs", args->inputs, "safetensors with input_ids [labels, position_ids; a VLM's pixel_values, image_grid_thw, pixel_attention_mask]")->required();
  cmd->add_option("--out", args->out, "output safetensors")->required();
  cmd->add_option("--grads", args->grads, "all | none | NAME,NAME,...")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "fp32 | bf16 | fp16")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--attn-implementation", args->attn_implementation, "eager | sdpa (HF's names)")
      ->capture_default_str();
  cmd->callback([args, &run] { run = [args] { return run_debug_forward(*args); }; });
}

}  // namespace automodel::cli
