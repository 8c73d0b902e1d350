// The template sandbox (issue 17 §1): hostile templates end in a clear error naming the template
// and line, within seconds and under a 4 GB address-space limit — never a signal, a hang or an
// out-of-memory — and integers are Python's (exact big integers, checked against jinja2).
// Each render runs in a forked child with RLIMIT_AS = 4 GB and an alarm, so a regression shows
// as a failed test, not a crashed or hung suite.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/tokenizer/chat_template.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

using nlohmann::json;

constexpr double kSecondsAllowed = 10;  // "within seconds" on a loaded 2-core machine
constexpr size_t kPipeBytes = 1 << 20;

struct Outcome {
  char kind = '?';  // 'T' text, 'E' automodel::Error, 'X' another exception, 'S' killed by a signal
  std::string text;  // rendered text or error message
  int signal = 0;
  double seconds = 0;
};

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t k = 0; k < n; ++k) out += s;
  return out;
}

Outcome render_sandboxed(const std::string& source, const json& context = json::object()) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    rlimit limit{4000000000ull, 4000000000ull};
    ::setrlimit(RLIMIT_AS, &limit);
    ::alarm(60);
    std::string out;
    try {
      ChatTemplate t(source, "sandbox.jinja");
      out = "T" + t.render(context, 0).text;
    } catch (const Error& e) {
      out = std::string("E") + e.what();
    } catch (const std::exception& e) {
      out = std::string("X") + e.what();
    }
    if (out.size() > kPipeBytes) out.resize(kPipeBytes);
    for (size_t done = 0; done < out.size();) {
      ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Outcome o;
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFSIGNALED(status)) {
    o.kind = 'S';
    o.signal = WTERMSIG(status);
    o.text = strsignal(o.signal);
    return o;
  }
  if (!got.empty()) {
    o.kind = got[0];
    o.text = got.substr(1);
  }
  return o;
}

std::string shorten(const std::string& s) { return s.size() > 160 ? s.substr(0, 160) + "..." : s; }

// A clear error: automodel::Error naming the template and a line, with `expected` in it (or one
// of its '|'-separated alternatives).
void expect_clear_error(const std::string& source, const std::string& expected, int line = 1) {
  SCOPED_TRACE(shorten(source));
  Outcome o = render_sandboxed(source);
  ASSERT_EQ(o.kind, 'E') << "kind " << o.kind << ": " << shorten(o.text);
  EXPECT_LT(o.seconds, kSecondsAllowed);
  EXPECT_NE(o.text.find("sandbox.jinja"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find(line < 0 ? "line " : "line " + std::to_string(line)), std::string::npos) << o.text;
  bool found = false;
  for (size_t b = 0, e; b <= expected.size(); b = e + 1) {
    e = std::min(expected.find('|', b), expected.size());
    found = found || o.text.find(expected.substr(b, e - b)) != std::string::npos;
  }
  EXPECT_TRUE(found) << "expected " << expected << " in: " << o.text;
  EXPECT_EQ(o.text.find("std::"), std::string::npos) << o.text;
  EXPECT_EQ(o.text.find("bad_alloc"), std::string::npos) << o.text;
}

TEST(ChatTemplateSandbox, RecursiveMacrosAndCallBlocksAreRecursionErrors) {
  expect_clear_error("{% macro m(x) %}{{ m(x) }}{% endmacro %}{{ m(1) }}", "RecursionError");
  expect_clear_error("{% macro a() %}{{ b() }}{% endmacro %}\n{% macro b() %}{{ a() }}{% endmacro %}\n{{ a() }}",
                     "RecursionError", -1);
  expect_clear_error("{% macro m() %}{% call m() %}x{% endcall %}{% endmacro %}{{ m() }}", "RecursionError");
  expect_clear_error("{% macro m() %}{{ caller() }}{% endmacro %}{% macro r() %}{% call m() %}{{ r() }}{% endcall %}{% endmacro %}{{ r() }}",
                     "RecursionError");
  // Big arguments on every level stay within memory.
  expect_clear_error("{% macro m(s) %}{{ m(s) }}{% endmacro %}{{ m('x' * 60000000) }}", "MemoryError");
  // Bounded recursion renders.
  Outcome ok = render_sandboxed("{% macro m(n) %}{% if n > 0 %}{{ n }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(50) }}");
  ASSERT_EQ(ok.kind, 'T') << ok.text;
  EXPECT_EQ(ok.text.substr(0, 6), "504948");
}

TEST(ChatTemplateSandbox, LongOperatorChainsAreSyntaxErrors) {
  const size_t n = 100000;
  const std::vector<std::string> chains = {
      "{{ " + repeat("not ", n) + "1 }}",
      "{{ 'a'" + repeat("|lower", n) + " }}",
      "{{ [0]" + repeat("[0]", n) + " }}",
      "{{ x" + repeat(".a", n) + " }}",
      "{{ x" + repeat("()", n) + " }}",
      "{{ 1" + repeat(" + 1", n) + " }}",
      "{{ 'a'" + repeat(" ~ 'a'", n) + " }}",
      "{{ 1" + repeat(" and 1", n) + " }}",
      "{{ 1" + repeat(" == 1", n) + " }}",
      "{{ 1" + repeat(" is number", n) + " }}",
      "{{ 2" + repeat(" ** 2", n) + " }}",
      "{{ " + repeat("-", n) + "1 }}",
      "{{ " + repeat("(", n) + "1" + repeat(")", n) + " }}",
      "{{ " + repeat("[", n) + repeat("]", n) + " }}",
      "{{ " + repeat("{'a': ", n) + "1" + repeat("}", n) + " }}",
      "{{ 1" + repeat(" if 1 else 1", n) + " }}",
      "{{ f(" + repeat("f(", n) + repeat(")", n) + ") }}",
      "{% set x = 'a'" + repeat("|trim", n) + " %}",
      "{% filter upper" + repeat("|lower", n) + " %}x{% endfilter %}",
  };
  for (const auto& source : chains) expect_clear_error(source, "nested too deeply");
  expect_clear_error(repeat("{% if 1 %}", 10000) + repeat("{% endif %}", 10000), "nested too deeply");
  expect_clear_error(repeat("{% for x in [1] %}", 10000) + repeat("{% endfor %}", 10000), "nested too deeply");
  // Chains within the limit still parse and render.
  Outcome ok = render_sandboxed("{{ 1" + repeat(" + 1", 100) + " }}{{ 'A'" + repeat("|lower", 100) + " }}");
  ASSERT_EQ(ok.kind, 'T') << ok.text;
  EXPECT_EQ(ok.text, "101a");
}

TEST(ChatTemplateSandbox, IntegerEdgeCasesNeverTrap) {
  expect_clear_error("{{ 1 // 0 }}", "ZeroDivisionError: integer division or modulo by zero");
  expect_clear_error("{{ 1 % 0 }}", "ZeroDivisionError: integer modulo by zero");
  expect_clear_error("{{ (2 ** 100) % 0 }}", "ZeroDivisionError");
  expect_clear_error("{{ 1 / 0 }}", "ZeroDivisionError: division by zero");
  expect_clear_error("{{ 7 is divisibleby 0 }}", "ZeroDivisionError");
  expect_clear_error("{{ 2 ** 9223372036854775807 }}", "OverflowError");
  expect_clear_error("{{ 3 ** 100000 }}", "OverflowError");
  expect_clear_error("{{ (2 ** 60000) * (2 ** 60000) }}", "OverflowError");
  expect_clear_error("{{ 10 ** 5000 }}", "ValueError: Exceeds the limit (4300 digits)");
  expect_clear_error("{{ 1" + repeat("0", 5000) + " }}", "exceeds Python's limit of 4300 digits");
  expect_clear_error("{{ 10.0 ** 400 }}", "OverflowError");
  expect_clear_error("{{ (10 ** 400) * 1.0 }}", "OverflowError: int too large to convert to float");
  expect_clear_error("{{ range(2 ** 64) }}", "OverflowError");
  expect_clear_error("{{ 1e999|int }}", "OverflowError: cannot convert float infinity to integer");
  // Loops of big arithmetic are bounded by the step budget, not by minutes.
  expect_clear_error("{% set ns = namespace(x=7 ** 5000) %}{% for i in range(100000) %}{% for j in range(100) %}"
                     "{% set ns.y = ns.x * ns.x // (ns.x + 1) %}{% endfor %}{% endfor %}",
                     "resource limit");
}

TEST(ChatTemplateSandbox, LoopsAreBoundedByTheStepBudget) {
  expect_clear_error("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", "resource limit");
  expect_clear_error("{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}{{ k }}{% endfor %}"
                     "{% endfor %}{% endfor %}",
                     "resource limit");
  expect_clear_error("{% for i in range(300) %}{% for j in range(1000) %}{% if i + j == -1 %}{% endif %}{% endfor %}"
                     "{% endfor %}\n{% for i in range(100000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
                     "resource limit", 2);
  expect_clear_error("{{ range(200000)|length }}", "Range too big");
  // Filters that loop internally are charged too.
  expect_clear_error("{% set l = range(100000)|list %}{% for i in range(100000) %}{{ l|sum }}{% endfor %}", "resource limit|MemoryError");
  expect_clear_error("{% set l = range(100000)|list %}{% for i in range(100000) %}{{ 5 in l }}{% endfor %}", "resource limit|MemoryError");
}

TEST(ChatTemplateSandbox, StringsListsAndOutputAreBounded) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "MemoryError"},
      {"{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "MemoryError"},
      {"{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s * 2 %}{% endfor %}", "MemoryError"},
      {"{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", "MemoryError"},
      {"{% set ns = namespace(s='xy') %}{% for i in range(100) %}{% set ns.s = ns.s|replace('', ns.s) %}{% endfor %}",
       "MemoryError"},
      {"{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s.join([ns.s, ns.s, ns.s]) %}{% endfor %}",
       "MemoryError"},
      {"{{ 'x'|center(10 ** 10) }}", "MemoryError"},
      {"{{ 'x'|center(2 ** 100) }}", "MemoryError"},
      {"{{ 'x'|indent(10 ** 10) }}", "MemoryError"},
      {"{{ 'a\\nb'|indent(2 ** 70, true) }}", "MemoryError"},
      {"{{ {'a': [1, [2]]}|tojson(indent=10 ** 9) }}", "MemoryError"},
      {"{{ [1]|tojson(indent=2 ** 80) }}", "MemoryError"},
      {"{{ 'abc' * 10 ** 12 }}", "MemoryError"},
      {"{{ 'abc' * 2 ** 100 }}", "MemoryError"},
      {"{{ [1, 2] * 10 ** 9 }}", "MemoryError"},
      {"{{ ['x' * 1000000] * 100000 }}", "MemoryError"},
      {"{{ range(100000)|join('x' * 1000000) }}", "MemoryError"},
      {"{{ '{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}'.format('x' * 10000000) }}", "MemoryError"},
      {"{{ '%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s' % (('x' * 10000000,) * 20) }}", "MemoryError"},
      {"{{ [1]|batch(10 ** 12, 0)|list }}", "MemoryError"},
      {"{% set big = 'x' * 60000000 %}{{ (big ~ ',')|list|length }}", "MemoryError"},
      {"{% set l = ['x' * 10000000] %}{{ [l] * 100000 }}", "MemoryError"},
      {"{% set l = ['x' * 10000000] %}{{ ([l] * 100000)|tojson }}", "MemoryError"},
      {"{% for i in range(100000) %}{{ 'x' * 10000000 }}{% endfor %}", "MemoryError"},
      {"{% macro m() %}{% for i in range(100000) %}{{ 'x' * 10000000 }}{% endfor %}{% endmacro %}{% set s = m() %}",
       "MemoryError"},
      {"{% set big = 'x' * 60000000 %}{% for i in range(100000) %}{% set c = [big, big, big] %}{% endfor %}", "MemoryError"},
  };
  for (const auto& [source, expected] : cases) expect_clear_error(source, expected);
  // Hostile substring searches run in linear time.
  Outcome find = render_sandboxed("{% set hay = 'a' * 30000000 %}{% set needle = 'a' * 100000 ~ 'b' %}"
                                  "{{ needle in hay }} {{ hay.find(needle) }} {{ hay.count(needle) }} {{ hay.split(needle)|length }}"
                                  "{% set hay = 'a' * 3000000 %}{% set needle = 'a' * 1000000 ~ 'b' %} {{ needle in hay }}");
  ASSERT_EQ(find.kind, 'T') << find.text;
  EXPECT_EQ(find.text, "False -1 0 1 False");
  EXPECT_LT(find.seconds, kSecondsAllowed);
}

TEST(ChatTemplateSandbox, NestedValuesAndNamespacesAreBounded) {
  expect_clear_error("{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
                     "nested deeper than");
  expect_clear_error("{% set ns = namespace(x={}) %}{% for i in range(100000) %}{% set ns.x = {'a': ns.x} %}{% endfor %}",
                     "nested deeper than");
  expect_clear_error("{% set ns = namespace(x='') %}{% for i in range(100000) %}{% set ns.x = {'a': ns.x}.get %}{% endfor %}",
                     "nested deeper than");
  expect_clear_error("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns|tojson }}", "namespace cannot be stored");
  expect_clear_error("{% set a = namespace() %}{% set b = namespace(a=a) %}{% set a.b = [b] %}", "namespace cannot be stored");
  // Deeply nested variables from the caller's context.
  json deep = json::array();
  for (int k = 0; k < 5000; ++k) deep = json::array({deep});
  Outcome o = render_sandboxed("{{ messages }}", json{{"messages", deep}});
  ASSERT_EQ(o.kind, 'E') << o.text;
  EXPECT_NE(o.text.find("nested deeper than"), std::string::npos) << o.text;
}

TEST(ChatTemplateSandbox, LargeTemplatesParseInLinearTime) {
  std::string source;
  for (int k = 0; k < 100000; ++k) source += "{{ 1 }}\n";
  Outcome o = render_sandboxed(source);
  ASSERT_EQ(o.kind, 'T') << shorten(o.text);
  EXPECT_EQ(o.text.size(), 200000u);
  EXPECT_LT(o.seconds, kSecondsAllowed);
}

// Integer results as Python's jinja2 (ImmutableSandboxedEnvironment, as transformers) gives them.
TEST(ChatTemplateSandbox, IntegersMatchPythonJinja2) {
  AUTOMODEL_REQUIRE_ORACLE("jinja2");
  const std::vector<std::string> templates = {
      "{{ 2 ** 1000 }}",
      "{{ 9223372036854775807 + 1 }}",
      "{{ -9223372036854775807 - 2 }}",
      "{{ (-9223372036854775807 - 1) // -1 }}",
      "{{ (-9223372036854775807 - 1) % -1 }}",
      "{{ (-9223372036854775807 - 1) * -1 }}",
      "{{ -(-9223372036854775807 - 1) }}",
      "{{ 4294967296 * 4294967296 }} {{ 3037000500 * 3037000500 }}",
      "{{ 99999999999999999999999 }} {{ 99999999999999999999999 - 99999999999999999999998 }} {{ 1_000_000 }}",
      "{{ 1e999 }} {{ -1e999 }} {{ 1e-999 }} {{ 1.5e3 }}",
      "{{ 1 ** 9223372036854775807 }} {{ (-1) ** 9223372036854775807 }} {{ 0 ** 9223372036854775807 }} {{ 0 ** 0 }}",
      "{{ 2 ** -2 }} {{ 2 ** 62 }} {{ 2 ** 63 }} {{ (-2) ** 63 }} {{ 3 ** 40 }} {{ 7 ** 23 }}",
      "{{ 7 // -2 }} {{ -7 // 2 }} {{ 7 % -2 }} {{ -7 % 2 }} {{ -7 // -2 }} {{ -7 % -2 }}",
      "{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 7.5 % -2 }} {{ -7.5 // 2 }} {{ 5 % 2.5 }} {{ -0.0 % 3 }}",
      "{{ (2 ** 100) // 7 }} {{ (2 ** 100) % 7 }} {{ -(2 ** 100) // 7 }} {{ -(2 ** 100) % 7 }}",
      "{{ (3 ** 80) // (7 ** 20) }} {{ (3 ** 80) % -(7 ** 20) }} {{ -(3 ** 80) // -(7 ** 20) }}",
      "{{ (10 ** 40 + 7) // (10 ** 20 + 3) }} {{ (10 ** 40 + 7) % (10 ** 20 + 3) }}",
      "{{ (2 ** 192 - 1) // (2 ** 96 - 1) }} {{ (2 ** 192 - 1) % (2 ** 64 + 1) }} {{ (2 ** 128) // (2 ** 64 - 1) }}",
      "{{ 12345678901234567890123 * 98765432109876543210 }} {{ -(2 ** 64) * (2 ** 64) }}",
      "{{ (2 ** 70) / 3 }} {{ (2 ** 64 + 1) / 2 }} {{ 9007199254740993 / 1 }} {{ (10 ** 400) / (10 ** 399) }}",
      "{{ 10 ** 30 == 10.0 ** 30 }} {{ 2 ** 53 + 1 == 2 ** 53 }} {{ 2 ** 53 + 1 > 2.0 ** 53 }} {{ (2 ** 64) > 1e19 }}",
      "{{ 2 ** 64 - 2 ** 64 }} {{ (2 ** 64) < (2 ** 65) }} {{ -(2 ** 64) < -(2 ** 63) }} {{ 2 ** 64 in [2 ** 64] }}",
      "{{ [2 ** 64, -(2 ** 64)]|tojson }} {{ [2 ** 64] }} {{ {'a': 2 ** 64} }}",
      "{{ (2 ** 64)|abs }} {{ (-(2 ** 64))|abs }} {{ (-9223372036854775807 - 1)|abs }}",
      "{{ '%d'|format(2 ** 70) }} {{ '%d' % (2 ** 70) }} {{ (10 ** 30)|int }} {{ '123456789012345678901234567890'|int }}",
      "{{ '-12_345'|int }} {{ ' 42 '|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 1e300|int }} {{ -2.5|int }}",
      "{{ (2 ** 65) is even }} {{ (2 ** 65 + 1) is odd }} {{ (2 ** 64) is divisibleby 3 }} {{ (2 ** 64) is divisibleby 4 }}",
      "{{ [1, 2, 3]|sum(start=2 ** 64) }} {{ [9223372036854775807, 1]|sum }} {{ [2 ** 64, 1.5]|max }}",
      "{{ range(9223372036854775805, 9223372036854775807)|list }} {{ range(-9223372036854775807 - 1, -9223372036854775806)|list }}",
      "{{ [1, 2, 3][9223372036854775807:] }} {{ 'abc'[::2 ** 64] }} {{ 'abc'[::-9223372036854775807 - 1] }} "
      "{{ 'abcdef'[-(2 ** 70):2 ** 70:2] }} {{ [1, 2, 3][-9223372036854775807 - 1] }}",
      "{{ [1, 2][2 ** 70] }} {{ (2 ** 64)|string|length }} {{ 2 ** 64 ~ '' }} {{ (2 ** 64) is integer }} {{ (2 ** 64) is number }}",
      "{% for i in range(3) %}{{ 10 ** (20 * i) + i }},{% endfor %}",
  };
  automodel::testing::TempDir dir;
  json cases = json::array();
  for (const auto& t : templates) cases.push_back({{"template", t}, {"context", json::object()}, {"now", 0}});
  {
    std::ofstream(dir / "in.json") << cases.dump();
  }
  auto r = automodel::testing::run_command(automodel::testing::python() + " " + automodel::testing::oracle_script("render_jinja2.py").string() + " " +
                                (dir / "in.json").string() + " " + (dir / "out.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream f(dir / "out.json");
  json expected = json::parse(f);
  for (size_t k = 0; k < templates.size(); ++k) {
    SCOPED_TRACE(templates[k]);
    ASSERT_TRUE(expected[k].contains("text")) << expected[k].dump();
    Outcome o = render_sandboxed(templates[k]);
    ASSERT_EQ(o.kind, 'T') << o.text;
    EXPECT_EQ(o.text, expected[k]["text"].get<std::string>());
  }
}

// Python's error type and message for the integer errors, from jinja2 itself.
TEST(ChatTemplateSandbox, IntegerErrorsMatchPythonJinja2) {
  AUTOMODEL_REQUIRE_ORACLE("jinja2");
  const std::vector<std::string> templates = {
      "{{ 1 // 0 }}", "{{ 1 % 0 }}", "{{ 1 / 0 }}", "{{ 1.0 // 0 }}", "{{ 1.0 % 0 }}", "{{ 0 ** -1 }}",
      "{{ (2 ** 2000) / 3 }}", "{{ (10 ** 400) * 1.0 }}", "{{ 10 ** 5000 }}",
      "{{ range(100001)|length }}",
  };
  automodel::testing::TempDir dir;
  json cases = json::array();
  for (const auto& t : templates) cases.push_back({{"template", t}, {"context", json::object()}, {"now", 0}});
  {
    std::ofstream(dir / "in.json") << cases.dump();
  }
  auto r = automodel::testing::run_command(automodel::testing::python() + " " + automodel::testing::oracle_script("render_jinja2.py").string() + " " +
                                (dir / "in.json").string() + " " + (dir / "out.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream f(dir / "out.json");
  json expected = json::parse(f);
  for (size_t k = 0; k < templates.size(); ++k) {
    SCOPED_TRACE(templates[k]);
    ASSERT_TRUE(expected[k].contains("error")) << expected[k].dump();
    std::string python = expected[k]["error"].get<std::string>();
    // Python's message up to its first ':' after the type (our text may add the sandbox's words).
    std::string head = python.substr(0, std::min(python.size(), python.find(':', python.find(':') + 1)));
    Outcome o = render_sandboxed(templates[k]);
    ASSERT_EQ(o.kind, 'E') << o.text;
    EXPECT_NE(o.text.find(head), std::string::npos) << "ours: " << o.text << "\npython: " << python;
  }
}

}  // namespace
}  // namespace automodel::tokenizer
