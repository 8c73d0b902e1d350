// Chat templates: every real template against Python jinja2's renders (configured as
// transformers' apply_chat_template), plus Jinja features, whitespace control and errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/tokenizer/chat_template.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using automodel::testing::fixtures_dir;

const fs::path kDir = fixtures_dir() / "chat_templates";
constexpr std::time_t kJuly26 = 1721995200;  // 2024-07-26 12:00 UTC, the renders' strftime_now date

std::vector<std::string> template_names() {
  std::vector<std::string> names;
  auto renders = json::parse(read_file(kDir / "python_jinja2_renders.json"));
  for (const auto& [name, _] : renders.items()) names.push_back(name);
  return names;
}

std::string render_or_error(const ChatTemplate& t, const json& context) {
  try {
    return t.render(context, kJuly26).text;
  } catch (const Error& e) {
    return std::string("ERROR: ") + e.what();
  }
}

class ChatTemplateReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatTemplateReference, RendersByteIdenticallyToPythonJinja2) {
  auto renders = json::parse(read_file(kDir / "python_jinja2_renders.json"))[GetParam()];
  auto cases = json::parse(read_file(kDir / "cases.json"));
  ChatTemplate tmpl(read_file(kDir / "templates" / GetParam()), GetParam());
  for (const auto& [case_name, expected] : renders.items()) {
    if (!cases.contains(case_name)) {
      // The reference environment lacked transformers' {% generation %} extension and failed to
      // parse; transformers (and we) support it: every case must render.
      ASSERT_EQ(case_name, "python_jinja2_parse_error");
      EXPECT_NE(expected.get<std::string>().find("unknown tag 'generation'"), std::string::npos);
      for (const auto& [name, c] : cases.items()) {
        json context = c;
        context["bos_token"] = "<s>";
        context["eos_token"] = "</s>";
        auto r = tmpl.render(context, kJuly26);
        EXPECT_FALSE(r.text.empty()) << name;
      }
      continue;
    }
    json context = cases[case_name];
    context["bos_token"] = "<s>";
    context["eos_token"] = "</s>";
    context["date_string"] = "26 Jul 2024";
    std::string got = render_or_error(tmpl, context);
    if (expected.is_object()) {  // jinja2 raised: we must raise too, with its message
      std::string want = expected["error"].get<std::string>();
      auto colon = want.find(": ");
      std::string message = colon == std::string::npos ? want : want.substr(colon + 2);
      EXPECT_TRUE(got.starts_with("ERROR: ")) << case_name << ": expected an error like '" << want << "', rendered:\n" << got;
      EXPECT_NE(got.find(message), std::string::npos) << case_name << ": " << got;
    } else {
      EXPECT_EQ(got, expected.get<std::string>()) << case_name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatTemplateReference, ::testing::ValuesIn(template_names()), [](const auto& info) { return automodel::testing::param_name(info.param); });

std::string render(const std::string& src, const json& ctx = json::object()) {
  return ChatTemplate(src, "test").render(ctx, kJuly26).text;
}

std::string error_of(const std::function<void()>& f) { return automodel::testing::error_message_of<Error>(f); }

TEST(ChatTemplate, WhitespaceControlTrimAndLstripBlocks) {
  EXPECT_EQ(render("a\n  {% if true %}\n  b\n  {% endif %}\nc"), "a\n  b\nc");
  EXPECT_EQ(render("a  {{- ' b ' -}}  c"), "a b c");
  EXPECT_EQ(render("x {%+ if true %}y{% endif %}"), "x y");
  EXPECT_EQ(render("{% raw %}{{ not parsed }}{% endraw %}"), "{{ not parsed }}");
  EXPECT_EQ(render("a{# comment #}\nb"), "ab");
}

TEST(ChatTemplate, ExpressionsFollowPythonSemantics) {
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1.0 }} {{ 0.1 + 0.2 }}"),
            "3 -4 1 3.5 1024 1.0 0.30000000000000004");
  EXPECT_EQ(render("{{ [1, 'a', none, true] }} {{ {'k': 'v'} }} {{ 'it\\'s' ~ 1 }}"), "[1, 'a', None, True] {'k': 'v'} it's1");
  EXPECT_EQ(render("{{ 'abcdef'[1:4] }} {{ [1,2,3][::-1] }} {{ 'x' if false else 'y' }} {{ 'b' in 'abc' }}"), "bcd [3, 2, 1] y True");
  EXPECT_EQ(render("{{ '  hi  '.strip() }}|{{ 'a,b,,c'.split(',') }}|{{ '\\n\\nx'.lstrip('\\n') }}|{{ 'Hello World'.title() }}"),
            "hi|['a', 'b', '', 'c']|x|Hello World");
  EXPECT_EQ(render("{{ [5, 6].1 }} {{ 'n=%d, s=%s' % (3, 'x') }} {{ '%s!' % 'hi' }}"), "6 n=3, s=x hi!");
  EXPECT_EQ(render("{{ '{} and {}'.format(1, 'two') }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'x'.startswith(('y', 'x')) }}"),
            "1 and two bba True");
}

TEST(ChatTemplate, FiltersAndTests) {
  json ctx = {{"items", json::array({json{{"n", "b"}, {"v", 2}}, json{{"n", "a"}, {"v", 1}}})}};
  EXPECT_EQ(render("{{ items|map(attribute='n')|join(',') }} {{ items|selectattr('v', 'gt', 1)|list|length }}", ctx), "b,a 1");
  EXPECT_EQ(render("{{ items|sort(attribute='v')|map(attribute='n')|list }} {{ [3,1,2]|sort|first }}", ctx), "['a', 'b'] 1");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|tojson }} {{ {'b': [1, 'é']}|tojson(indent=2) }}"),
            "{\"b\": 1, \"a\": 2} {\n  \"b\": [\n    1,\n    \"é\"\n  ]\n}");
  EXPECT_EQ(render("{{ x|default('d') }} {{ ''|default('e', true) }} {{ 'a\\nb'|indent(2) }} {{ [1,1,2]|unique|list }}"),
            "d e a\n  b [1, 2]");
  EXPECT_EQ(render("{{ 4 is even }} {{ none is none }} {{ x is defined }} {{ 'a' is string }} {{ 9 is divisibleby 3 }}"),
            "True True False True True");
  EXPECT_EQ(render("{{ [1,2,3,4,5]|batch(2)|list }} {{ {'b':1,'a':2}|dictsort }}"), "[[1, 2], [3, 4], [5]] [['a', 2], ['b', 1]]");
}

TEST(ChatTemplate, StatementsLoopsMacrosNamespacesCallAndFilterBlocks) {
  EXPECT_EQ(render("{% for x in [1,2,3] if x != 2 %}{{ loop.index }}{{ x }}{{ ',' if not loop.last }}{% endfor %}"), "11,23");
  EXPECT_EQ(render("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}"), "a=1");
  EXPECT_EQ(render("{% for x in range(5) %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}"),
            "02");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in [1,2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"), "3");
  EXPECT_EQ(render("{% set y = 1 %}{% for x in [5] %}{% set y = x %}{% endfor %}{{ y }}"), "1");  // loop scope
  EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }}"),
            "Hi A! Hi B?");
  EXPECT_EQ(render("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inside{% endcall %}"), "[inside]");
  EXPECT_EQ(render("{% filter upper %}shout{% endfilter %} {% set v %}  pad {% endset %}[{{ v|trim }}]"), "SHOUT [pad]");
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y') }}"), "26 Jul 2024");
}

TEST(ChatTemplate, GenerationBlocksReportTheirSpans) {
  auto r = ChatTemplate("<u>{% generation %}answer{% endgeneration %}</u>").render(json::object());
  EXPECT_EQ(r.text, "<u>answer</u>");
  ASSERT_EQ(r.generation_spans.size(), 1u);
  EXPECT_EQ(r.text.substr(r.generation_spans[0].first, r.generation_spans[0].second - r.generation_spans[0].first), "answer");
}

TEST(ChatTemplate, ErrorsNameTheProblemWithLineAndColumn) {
  auto syntax = error_of([] { ChatTemplate("line one\n{% if x %}\n{{ x + }}\n{% endif %}", "t.jinja"); });
  EXPECT_NE(syntax.find("t.jinja: syntax error at line 3"), std::string::npos) << syntax;
  auto unclosed = error_of([] { ChatTemplate("{% for x in y %}", "t.jinja"); });
  EXPECT_NE(unclosed.find("expected '{% endfor %}'"), std::string::npos) << unclosed;
  auto filter = error_of([] { ChatTemplate("\n  {{ x | frobnicate }}", "t.jinja"); });
  EXPECT_NE(filter.find("line 2, column"), std::string::npos) << filter;
  EXPECT_NE(filter.find("no filter named 'frobnicate'"), std::string::npos) << filter;
  auto test = error_of([] { ChatTemplate("{{ x is frob }}", "t.jinja"); });
  EXPECT_NE(test.find("no test named 'frob'"), std::string::npos) << test;
  auto raised = error_of([] { render("a\n{{ raise_exception('System role not supported') }}"); });
  EXPECT_NE(raised.find("line 2: TemplateError: System role not supported"), std::string::npos) << raised;
  auto undefined = error_of([] { render("{{ messages[0].content }}"); });
  EXPECT_NE(undefined.find("UndefinedError: 'messages' is undefined"), std::string::npos) << undefined;
  auto unsafe = error_of([] { render("{% set l = [] %}{{ l.append(1) }}"); });
  EXPECT_NE(unsafe.find("SecurityError"), std::string::npos) << unsafe;
}

}  // namespace
}  // namespace automodel::tokenizer
