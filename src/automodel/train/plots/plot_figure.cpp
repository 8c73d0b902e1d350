#include "automodel/train/plots/plot_figure.h"

#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <system_error>

#include "automodel/common/error.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

// PLplot keeps global state and ends the process on a fatal error (plexit calls exit() after
// the handler). Drawing is serialised, and the exit handler jumps back to the setjmp in
// draw_guarded instead, so a plotting failure can never end a training run.
std::mutex g_mutex;
bool g_broken = false;  // a fatal error left PLplot's state undefined: no more drawing here
std::jmp_buf g_fatal;
char g_fatal_message[512];
char g_abort_message[512];  // the first non-fatal error (plabort) of the current drawing

int on_plplot_exit(const char* message) {
  std::snprintf(g_fatal_message, sizeof g_fatal_message, "%s", message ? message : "");
  std::longjmp(g_fatal, 1);
}

void on_plplot_abort(const char* message) {
  if (!g_abort_message[0]) std::snprintf(g_abort_message, sizeof g_abort_message, "%s", message ? message : "");
}

// Colour map 0 slots: PLplot's default map is red on black.
constexpr PLINT kBackground = 0, kInk = 1, kGrid = 2, kFirstSeries = 3;
constexpr int kMaxSeries = 12;

void set_colour(PLINT index, uint32_t rgb) {
  plscol0(index, static_cast<PLINT>((rgb >> 16) & 0xff), static_cast<PLINT>((rgb >> 8) & 0xff),
          static_cast<PLINT>(rgb & 0xff));
}

bool has_device(const char* name) {
  const char* menus[128];
  const char* names[128];
  const char** m = menus;
  const char** d = names;
  int n = 128;  // in: capacity of the caller's arrays, out: devices found
  plgDevs(&m, &d, &n);
  for (int i = 0; i < n; ++i)
    if (std::strcmp(d[i], name) == 0) return true;
  return false;
}

struct Range {
  double lo = 0, hi = 0;
};

// The data's extent; y gets a margin so curves do not run along the frame.
Range axis_range(const Panel& p, bool x_axis) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : p.series)
    for (double v : x_axis ? s.x : s.y) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!(lo <= hi)) return {0, 1};  // no points at all
  if (hi - lo <= std::abs(hi) * 1e-9) {  // a flat line: centre it
    const double pad = hi == 0 ? 1 : std::abs(hi) * 0.1;
    return {lo - pad, hi + pad};
  }
  const double pad = x_axis ? 0 : 0.06 * (hi - lo);
  return {lo - pad, hi + pad};
}

void draw_panel(const Panel& p) {
  pladv(0);
  plvsta();
  const Range xr = axis_range(p, true), yr = axis_range(p, false);
  plwind(xr.lo, xr.hi, yr.lo, yr.hi);
  plcol0(kGrid);
  plwidth(0.5);
  plbox("g", 0, 0, "g", 0, 0);
  plcol0(kInk);
  plwidth(1);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  pllab(p.x_label.c_str(), p.y_label.c_str(), p.title.c_str());
  const int n_series = std::min<int>(static_cast<int>(p.series.size()), kMaxSeries);
  for (int i = 0; i < n_series; ++i) {
    const auto& s = p.series[i];
    const auto n = static_cast<PLINT>(std::min(s.x.size(), s.y.size()));
    set_colour(kFirstSeries + i, s.rgb);
    plcol0(kFirstSeries + i);
    plwidth(2);
    if (n > 1) plline(n, s.x.data(), s.y.data());
    if (s.markers || n == 1) {
      plschr(0, 0.6);  // glyph markers scale with the character height
      plstring(n, s.x.data(), s.y.data(), "●");
      plschr(0, 0.9);
    }
    // A legend of coloured labels (text, so the picture keeps one line per curve).
    if (n_series > 1) plmtex("t", -1.5 - 1.3 * i, 0.97, 1.0, (s.label + (s.markers ? "  ●" : "  ━━")).c_str());
  }
  plwidth(1);
}

void draw(const Figure& f, const char* device, FILE* out) {
  PLINT stream = 0;
  plmkstrm(&stream);
  plsdev(device);
  plsfile(out);  // PLplot closes it in plend1
  plspage(0, 0, f.width, f.height, 0, 0);
  plscolbg(255, 255, 255);
  set_colour(kBackground, 0xffffff);
  set_colour(kInk, 0x000000);
  set_colour(kGrid, 0xdddddd);
  const int columns = std::max(1, f.columns);
  const int rows = std::max<int>(1, (static_cast<int>(f.panels.size()) + columns - 1) / columns);
  plssub(columns, rows);
  plinit();
  plschr(0, 0.9);  // the text height draw_panel returns to
  for (const auto& p : f.panels) draw_panel(p);
  plend1();
}

// The exit handler longjmps back here, skipping the frames in between: no locks or files are
// held there, so at worst a label's temporary string leaks once (then g_broken stops drawing).
bool draw_guarded(const Figure& f, const char* device, FILE* out) {
  if (setjmp(g_fatal) != 0) return false;
  draw(f, device, out);
  return true;
}

}  // namespace

void render_figure(const Figure& figure, const fs::path& out, ImageFormat format) {
  std::lock_guard<std::mutex> lock(g_mutex);
  AM_CHECK(!g_broken, "[plot] PLplot failed earlier in this process ({}); run `automodel plot` to retry",
           g_fatal_message);
  const char* device = format == ImageFormat::kPng ? "pngcairo" : "svg";
  AM_CHECK(has_device(device), "[plot] PLplot has no '{}' driver, expected it for {}; install Debian's {}", device,
           out.string(), format == ImageFormat::kPng ? "plplot-driver-cairo" : "libplplot17");
  plsexit(on_plplot_exit);
  plsabort(on_plplot_abort);
  g_abort_message[0] = '\0';
  // We open the file (PLplot would prompt on stdin for another name when it cannot).
  fs::path tmp = out;
  tmp += ".tmp";
  FILE* file = std::fopen(tmp.c_str(), "wb");
  AM_CHECK(file != nullptr, "[plot] cannot write {}: {}", tmp.string(), std::strerror(errno));
  const bool ok = draw_guarded(figure, device, file);
  std::error_code ec;
  if (!ok) {
    g_broken = true;
    fs::remove(tmp, ec);
    AM_FAIL("[plot] PLplot failed drawing {}: {}", out.string(), g_fatal_message);
  }
  if (g_abort_message[0]) {
    fs::remove(tmp, ec);
    AM_FAIL("[plot] PLplot failed drawing {}: {}", out.string(), g_abort_message);
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    AM_FAIL("[plot] cannot replace {}: {}", out.string(), why);
  }
}

}  // namespace automodel::train
