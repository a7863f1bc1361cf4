// The Jinja interpreter: syntax, whitespace control, expressions, statements, filters, tests,
// methods, errors with positions, and hostile templates (limits instead of crashes or hangs).
// Expected outputs follow Python Jinja2 / minja semantics as documented in jinja.h.
#include "engine/chat/jinja.h"

#include <chrono>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace quire::engine::jinja {
namespace {

Data str(const char* s) {
  return Data(s);
}
Data num(int64_t v) {
  return Data(v);
}

Data message(const char* role, const char* content) {
  return Data(Data::Object{{"role", str(role)}, {"content", str(content)}});
}

Result<std::string> render(std::string_view source, const Data::Object& context = {},
                           const RenderOptions& options = {}) {
  Result<Template> tmpl = Template::parse(source);
  if (!tmpl.ok()) return tmpl.status();
  return tmpl->render(context, options);
}

// Renders and returns the text, or "ERROR: <status>".
std::string r(std::string_view source, const Data::Object& context = {}) {
  Result<std::string> out = render(source, context);
  return out.ok() ? *out : "ERROR: " + out.status().to_string();
}

::testing::AssertionResult fails_with(std::string_view source, StatusCode code,
                                      std::string_view needle, const Data::Object& context = {},
                                      const RenderOptions& options = {}) {
  Result<std::string> out = render(source, context, options);
  if (out.ok()) return ::testing::AssertionFailure() << "rendered \"" << *out << "\"";
  if (out.status().code() != code || out.status().message().find(needle) == std::string::npos) {
    return ::testing::AssertionFailure() << "got " << out.status().to_string();
  }
  return ::testing::AssertionSuccess();
}

// ---- text and whitespace ---------------------------------------------------------------------

TEST(JinjaText, PlainTextAndTrailingNewline) {
  EXPECT_EQ(r("hello"), "hello");
  EXPECT_EQ(r(""), "");
  EXPECT_EQ(r("a\n"), "a");  // keep_trailing_newline off drops one final newline
  EXPECT_EQ(r("a\n\n"), "a\n");
  EXPECT_EQ(r("a { b } c"), "a { b } c");
  ParseOptions keep;
  keep.keep_trailing_newline = true;
  EXPECT_EQ(Template::parse("a\n", keep)->render({}).value(), "a\n");
}

TEST(JinjaText, WhitespaceControlDashes) {
  EXPECT_EQ(r("a  {{- 'x' -}}  b"), "axb");
  EXPECT_EQ(r("a \n {%- if true -%} \n b {%- endif %}"), "ab");
  EXPECT_EQ(r("a {#- comment -#} b"), "ab");
  EXPECT_EQ(r("a {{ 'x' }} b"), "a x b");
}

TEST(JinjaText, TrimBlocksAndLstripBlocks) {
  // trim_blocks: the newline after a statement tag goes; lstrip_blocks: indentation before it.
  EXPECT_EQ(r("{% if true %}\n  yes\n{% endif %}\nend"), "  yes\nend");
  EXPECT_EQ(r("<\n    {% if true %}\nx\n    {% endif %}\n>"), "<\nx\n>");
  // Not after an expression tag.
  EXPECT_EQ(r("{{ 'a' }}\nb"), "a\nb");
  // After a comment, yes.
  EXPECT_EQ(r("{# c #}\nb"), "b");
  // Like minja, lstrip applies before {{ too.
  EXPECT_EQ(r("a\n   {{ 'b' }}"), "a\nb");
  // Text before the tag on the same line keeps its spaces.
  EXPECT_EQ(r("a  {% if true %}b{% endif %}"), "a  b");
}

// ---- expressions -------------------------------------------------------------------------------

TEST(JinjaExpr, Literals) {
  EXPECT_EQ(r("{{ 42 }}|{{ -7 }}|{{ 1.5 }}|{{ 2.0 }}|{{ 1e3 }}"), "42|-7|1.5|2.0|1000.0");
  EXPECT_EQ(r("{{ true }}|{{ False }}|{{ none }}|{{ None }}|"), "True|False|||");
  EXPECT_EQ(r(R"({{ 'it\'s' }}|{{ "a\tb\nc" }}|{{ "\u00e9\x41" }}|{{ 'a' 'b' }})"),
            "it's|a\tb\nc|\xC3\xA9"
            "A|ab");
  EXPECT_EQ(r("{{ [1, 'a', none, true, [2]] }}"), "[1, 'a', null, True, [2]]");
  EXPECT_EQ(r("{{ {'k': 'v', \"q\": 1} }}"), "{'k': 'v', 'q': 1}");
  EXPECT_EQ(r("{{ (1, 2) }}|{{ () }}|{{ (3) }}"), "[1, 2]|[]|3");
  EXPECT_EQ(r(R"({{ ["it's"] }})"), R"(["it's"])");
}

TEST(JinjaExpr, Arithmetic) {
  EXPECT_EQ(r("{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}"),
            "7|9|3|-4|2");
  EXPECT_EQ(r("{{ 7 / 2 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 1.5 + 1 }}|{{ 10 - 2.5 }}"),
            "3.5|1024|0.5|2.5|7.5");
  EXPECT_EQ(r("{{ 'ab' * 3 }}|{{ 2 * 'x' }}|{{ [1] * 2 }}|{{ 'a' * -1 }}"), "ababab|xx|[1, 1]|");
  EXPECT_EQ(r("{{ [1] + [2, 3] }}"), "[1, 2, 3]");
}

TEST(JinjaExpr, StringConversionLikeMinja) {
  // `+` with a string concatenates string forms; floats use printf("%f"), none is "None".
  EXPECT_EQ(r("{{ 'n=' + 3 }}|{{ 'x' ~ none }}|{{ 1 ~ 2 }}|{{ 'f' + 1.5 }}|{{ true ~ '' }}"),
            "n=3|xNone|12|f1.500000|True");
}

TEST(JinjaExpr, ComparisonsAndLogic) {
  EXPECT_EQ(
      r("{{ 1 == 1.0 }}|{{ 'a' < 'b' }}|{{ 2 >= 3 }}|{{ [1, 2] == [1, 2] }}|{{ none == none }}"),
      "True|True|False|True|True");
  EXPECT_EQ(r("{{ 'b' in 'abc' }}|{{ 2 in [1, 2] }}|{{ 'k' in {'k': 1} }}|{{ 3 not in [1] }}"),
            "True|True|True|True");
  EXPECT_EQ(r("{{ 1 and 'x' }}|{{ 0 or 'y' }}|{{ not 0 }}|{{ none or [] }}"), "True|y|True|[]");
  EXPECT_EQ(r("{{ 'yes' if 1 > 0 else 'no' }}|{{ 'yes' if false }}|"), "yes||");
  EXPECT_EQ(r("{{ not x is defined }}|{{ x is not defined }}"), "True|True");
}

TEST(JinjaExpr, FilterPrecedence) {
  // A filter applies to the operand it follows, not to the whole sum.
  EXPECT_EQ(r("{{ 'a' + ' b ' | trim + 'c' }}"), "abc");
  EXPECT_EQ(r("{{ -3 | abs }}"), "3");
  EXPECT_EQ(r("{{ [3, 1, 2] | sort | join(',') }}"), "1,2,3");
}

TEST(JinjaExpr, AccessAndSlices) {
  const Data::Object context = {
      {"m", Data(Data::Object{{"role", str("user")},
                              {"list", Data(Data::Array{num(1), num(2), num(3)})}})},
      {"s", str("h\xC3\xA9llo")}};
  EXPECT_EQ(
      r("{{ m.role }}|{{ m['role'] }}|{{ m.missing }}|{{ m.list[-1] }}|{{ m.list.0 }}", context),
      "user|user||3|1");
  EXPECT_EQ(r("{{ m.list[1:] }}|{{ m.list[:-1] }}|{{ m.list[::-1] }}|{{ m.list[5:] }}", context),
            "[2, 3]|[1, 2]|[3, 2, 1]|[]");
  // Strings index and slice by code point.
  EXPECT_EQ(r("{{ s[1] }}|{{ s[1:3] }}|{{ s[::-1] }}|{{ s | length }}", context),
            "\xC3\xA9|\xC3\xA9l|oll\xC3\xA9h|5");
}

// ---- statements --------------------------------------------------------------------------------

TEST(JinjaStmt, IfElifElse) {
  const char* source = "{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}";
  EXPECT_EQ(r(source, {{"x", num(1)}}), "one");
  EXPECT_EQ(r(source, {{"x", num(2)}}), "two");
  EXPECT_EQ(r(source, {{"x", num(5)}}), "many");
  EXPECT_EQ(r(source), "many");
}

TEST(JinjaStmt, ForLoopVariables) {
  EXPECT_EQ(r("{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
              "{{ loop.revindex0 }}{{ loop.length }}{{ loop.first }}{{ loop.last }}|{% endfor %}"),
            "10323TrueFalse|21213FalseFalse|32103FalseTrue|");
  EXPECT_EQ(
      r("{% for x in [1, 2, 3] %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }} {% endfor %}"),
      "<1>2 1<2>3 2<3> ");
  EXPECT_EQ(r("{% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "aba");
}

TEST(JinjaStmt, ForLoopForms) {
  EXPECT_EQ(r("{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}={{ v }};{% endfor %}"),
            "a=1;b=2;");
  EXPECT_EQ(r("{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}"), "ab");
  EXPECT_EQ(r("{% for c in 'h\xC3\xA9' %}[{{ c }}]{% endfor %}"), "[h][\xC3\xA9]");
  EXPECT_EQ(r("{% for x in none %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(r("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}"),
            "2242");
  EXPECT_EQ(r("{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}"
              "{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
            "13");
  EXPECT_EQ(r("{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}"), "37");
  EXPECT_EQ(r("{% for x in [[1, 2], [3]] %}{% for y in x %}{{ loop.index }}{% endfor %}"
              "{{ loop.index }}{% endfor %}"),
            "12112");
}

TEST(JinjaStmt, SetAndScopes) {
  EXPECT_EQ(r("{% set x = 1 %}{% set a, b = [2, 3] %}{{ x }}{{ a }}{{ b }}"), "123");
  // A loop has its own scope: assignments inside do not leak out.
  EXPECT_EQ(r("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{% endfor %}{{ x }}"), "1");
  // namespace() is shared by reference.
  EXPECT_EQ(r("{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}"
              "{% endfor %}{{ ns.n }}"),
            "6");
  EXPECT_EQ(r("{% set block %}  a{{ 1 + 1 }} {% endset %}[{{ block }}]"), "[  a2 ]");
  EXPECT_TRUE(fails_with("{% set x = 1 %}{% set x.y = 2 %}", StatusCode::kInvalidArgument,
                         "cannot set 'y' on 'x'"));
}

TEST(JinjaStmt, Macros) {
  EXPECT_EQ(r("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
              "{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(punct='.', name='Cy') }}"),
            "Hi Ann! Hi Bob? Hi Cy.");
  // The result is a string usable in expressions; missing arguments are none.
  EXPECT_EQ(r("{% macro m(a, b) %}{{ a }}-{{ b is none }}{% endmacro %}{{ m(1) | upper + '!' }}"),
            "1-TRUE!");
  // Macros see the template's variables at call time (namespace updates included).
  EXPECT_EQ(r("{% set ns = namespace(v=1) %}{% macro show() %}{{ ns.v }}{% endmacro %}"
              "{% set ns.v = 2 %}{{ show() }}"),
            "2");
  // Recursion.
  EXPECT_EQ(
      r("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"),
      "321");
  EXPECT_TRUE(fails_with("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
                         StatusCode::kInvalidArgument, "takes 1 arguments"));
  EXPECT_TRUE(fails_with("{% macro m(a) %}{% endmacro %}{{ m(b=1) }}", StatusCode::kInvalidArgument,
                         "no parameter 'b'"));
}

TEST(JinjaStmt, FilterBlockAndGeneration) {
  EXPECT_EQ(r("{% filter upper %}abc{{ 'd' }}{% endfilter %}"), "ABCD");
  EXPECT_EQ(r("{% filter trim | upper %}  x  {% endfilter %}|"), "X|");
  EXPECT_EQ(r("a{% generation %}b{% endgeneration %}c"), "abc");
}

// ---- filters, tests, methods, globals
// ------------------------------------------------------------

TEST(JinjaFilters, StringFilters) {
  EXPECT_EQ(r("[{{ '  a b \n' | trim }}]|{{ 'xxaxx' | trim('x') }}|{{ 'AbC' | lower }}|"
              "{{ 'AbC' | upper }}|{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}"),
            "[a b]|a|abc|ABC|Hello World|Hello");
  EXPECT_EQ(r("{{ 'aXbXc' | replace('X', '-') }}|{{ 'aXbXc' | replace('X', '', 1) }}|"
              "{{ '<a&\"b\">' | escape }}|{{ 3 | string + '!' }}"),
            "a-b-c|abXc|&lt;a&amp;&#34;b&#34;&gt;|3!");
  EXPECT_EQ(r("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, first=true) }}"),
            "a\n  b\n\n  c|  a\n  b");
  EXPECT_EQ(r("{{ '42' | int + 1 }}|{{ 'x' | int }}|{{ '2.5' | float }}|{{ 3.9 | int }}"),
            "43|0|2.5|3");
}

TEST(JinjaFilters, ListFilters) {
  const Data::Object context = {
      {"messages", Data(Data::Array{message("system", "s"), message("user", "u1"),
                                    message("assistant", "a"), message("user", "u2")})}};
  EXPECT_EQ(r("{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') "
              "| join(', ') }}",
              context),
            "u1, u2");
  EXPECT_EQ(r("{{ messages | rejectattr('role', 'equalto', 'user') | list | length }}", context),
            "2");
  EXPECT_EQ(r("{{ messages | map(attribute='role') | unique | list }}", context),
            "['system', 'user', 'assistant']");
  EXPECT_EQ(r("{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [0, 1, '', 'a'] | select | list }}"),
            "[1, 3]|[1, 'a']");
  EXPECT_EQ(
      r("{{ [3, 1, 2] | first }}{{ [3, 1, 2] | last }}{{ [] | first }}|{{ [1, 2] | reverse }}"),
      "32|[2, 1]");
  EXPECT_EQ(r("{{ ['b', 'A', 'c'] | sort }}|{{ [2, 3] | sum }}|{{ {'b': 1, 'a': 2} | dictsort }}"),
            "['A', 'b', 'c']|5|[['a', 2], ['b', 1]]");
  EXPECT_EQ(r("{{ none | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|"
              "{{ [] | length }}|{{ {'a': 1} | count }}"),
            "d||d|0|1");
  EXPECT_EQ(r("{{ ['a', 'b'] | map('upper') | join }}"), "AB");
}

TEST(JinjaFilters, ToJson) {
  const Data::Object context = {
      {"v", Data(Data::Object{{"name", str("f\xC3\xA9\"q\"\n")},
                              {"list", Data(Data::Array{num(1), Data(2.5), Data(true), Data()})},
                              {"empty", Data(Data::Array{})},
                              {"obj", Data(Data::Object{})}})}};
  EXPECT_EQ(r("{{ v | tojson }}", context),
            "{\"name\": \"f\xC3\xA9\\\"q\\\"\\n\", \"list\": [1, 2.5, true, null], \"empty\": [], "
            "\"obj\": {}}");
  EXPECT_EQ(r("{{ v.list | tojson(indent=2) }}", context), "[\n  1,\n  2.5,\n  true,\n  null\n]");
  EXPECT_EQ(r("{{ v.name | tojson(ensure_ascii=true) }}", context), "\"f\\u00e9\\\"q\\\"\\n\"");
  EXPECT_EQ(r("{{ {'a': {'b': [1]}} | tojson(indent=1) }}"),
            "{\n \"a\": {\n  \"b\": [\n   1\n  ]\n }\n}");
}

TEST(JinjaTests, TypeAndValueTests) {
  EXPECT_EQ(r("{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 'a' is string }}"
              "{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ {} is mapping }}"),
            "FalseTrueTrueTrueTrueTrueTrueTrue");
  EXPECT_EQ(r("{{ [] is iterable }}{{ 1 is iterable }}{{ true is boolean }}{{ 6 is divisibleby 3 }}"
              "{{ 3 is odd }}{{ 3 is even }}{{ 'a' is equalto 'a' }}{{ 2 is eq(3) }}"),
            "TrueFalseTrueTrueTrueFalseTrueFalse");
  EXPECT_EQ(r("{{ 'ab' is lower }}{{ 1 is not none }}{{ 2 is gt 1 }}{{ 'a' is in 'cat' }}"),
            "TrueTrueTrueTrue");
}

TEST(JinjaMethods, StringListDictMethods) {
  EXPECT_EQ(
      r("[{{ ' a '.strip() }}|{{ 'xa'.lstrip('x') }}|{{ 'a,b,,c'.split(',') }}|"
        "{{ ' a  b '.split() }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}]"),
      "[a|a|['a', 'b', '', 'c']|['a', 'b']|True|True]");
  EXPECT_EQ(r("{{ 'a</think>b'.split('</think>')[-1] }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}|"
              "{{ 'a-b'.replace('-', '+') }}|{{ 'abc'.find('c') }}|{{ ', '.join(['x', 'y']) }}"),
            "b|ABab|a+b|2|x, y");
  EXPECT_EQ(
      r("{% set l = [1] %}{{ l.append(2) }}{{ l }}|{{ l.pop() }}{{ l }}|"
        "{% set d = {'a': 1} %}{{ d.get('a') }}{{ d.get('z', 9) }}{{ d.keys() }}{{ d.items() }}"),
      "[1, 2]|2[1]|19['a'][['a', 1]]");
  EXPECT_EQ(r("{% set ns = namespace(f=none) %}{{ 'x'.title() }}"), "X");
}

TEST(JinjaGlobals, RangeNamespaceRaiseStrftime) {
  EXPECT_EQ(r("{{ range(3) | list }}|{{ range(1, 7, 2) | list }}|{{ range(3, 0, -1) | list }}"),
            "[0, 1, 2]|[1, 3, 5]|[3, 2, 1]");
  EXPECT_EQ(r("{% set ns = namespace(a=1, b='x') %}{{ ns.a }}{{ ns.b }}"), "1x");
  EXPECT_TRUE(fails_with("{{ raise_exception('Roles must alternate') }}",
                         StatusCode::kInvalidArgument, "Roles must alternate"));
  // strftime_now exists only when the render is given a time (UTC).
  EXPECT_EQ(r("{{ strftime_now is defined }}"), "False");
  std::tm pinned{};
  pinned.tm_year = 2024 - 1900;
  pinned.tm_mon = 6;
  pinned.tm_mday = 26;
  pinned.tm_hour = 13;
  RenderOptions options;
  options.now = std::chrono::system_clock::from_time_t(timegm(&pinned));
  EXPECT_EQ(
      render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%dT%H %Q') }}", {}, options)
          .value(),
      "26 Jul 2024|2024-07-26T13 %Q");
}

// ---- errors ------------------------------------------------------------------------------------

TEST(JinjaErrors, SyntaxErrorsCarryPositions) {
  const auto parse_error = [](std::string_view source) {
    Result<Template> t = Template::parse(source);
    return t.ok() ? std::string("parsed") : t.status().to_string();
  };
  EXPECT_EQ(parse_error("{% if x %}a"),
            "INVALID_ARGUMENT: jinja: unexpected end of template, expected '{% endif %}' at line "
            "1, column 12");
  EXPECT_EQ(parse_error("a\n{{ 1 + }}"),
            "INVALID_ARGUMENT: jinja: unexpected '}', expected an expression at line 2, column 8");
  EXPECT_EQ(parse_error("{% endfor %}"),
            "INVALID_ARGUMENT: jinja: unexpected 'endfor' at line 1, column 1");
  EXPECT_EQ(parse_error("{% include 'x' %}"),
            "INVALID_ARGUMENT: jinja: unsupported statement 'include' at line 1, column 4");
  EXPECT_EQ(parse_error("{% break %}"),
            "INVALID_ARGUMENT: jinja: 'break' outside a for loop at line 1, column 1");
  EXPECT_NE(parse_error("{{ 'abc }}").find("unterminated string literal"), std::string::npos);
  EXPECT_NE(parse_error("{# never closed").find("unterminated comment"), std::string::npos);
  EXPECT_NE(parse_error("{{ x }").find("expected '}}'"), std::string::npos);
  EXPECT_NE(parse_error("{% for x in y recursive %}{% endfor %}").find("recursive"),
            std::string::npos);
  EXPECT_NE(parse_error("{{ 99999999999999999999 }}").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error("{% bogus %}").find("unknown statement 'bogus'"), std::string::npos);
}

TEST(JinjaErrors, RuntimeErrorsCarryPositions) {
  EXPECT_TRUE(fails_with("line1\n{{ x.y }}", StatusCode::kInvalidArgument,
                         "'x' is undefined (reading '.y') at line 2, column 5"));
  EXPECT_TRUE(
      fails_with("{{ [1][3] }}", StatusCode::kInvalidArgument, "list index 3 out of range"));
  EXPECT_TRUE(fails_with("{{ x | nope }}", StatusCode::kInvalidArgument, "unknown filter 'nope'"));
  EXPECT_TRUE(fails_with("{{ x is nope }}", StatusCode::kInvalidArgument, "unknown test 'nope'"));
  EXPECT_TRUE(fails_with("{{ f() }}", StatusCode::kInvalidArgument, "'f' is undefined"));
  EXPECT_TRUE(fails_with("{{ 1 / 0 }}", StatusCode::kInvalidArgument, "division by zero"));
  EXPECT_TRUE(fails_with("{{ 1 % 0 }}", StatusCode::kInvalidArgument, "modulo by zero"));
  EXPECT_TRUE(fails_with("{{ 1 - 'a' }}", StatusCode::kInvalidArgument, "unsupported operand"));
  EXPECT_TRUE(fails_with("{{ 9223372036854775807 + 1 }}", StatusCode::kInvalidArgument,
                         "integer overflow"));
  EXPECT_TRUE(fails_with("{{ 2 ** 64 }}", StatusCode::kInvalidArgument, "integer overflow"));
  EXPECT_TRUE(fails_with("{{ 'a' < 1 }}", StatusCode::kInvalidArgument, "cannot compare"));
  EXPECT_TRUE(fails_with("{% for x in 5 %}{% endfor %}", StatusCode::kInvalidArgument,
                         "cannot loop over int"));
  EXPECT_TRUE(fails_with("{% set a, b = [1] %}", StatusCode::kInvalidArgument, "cannot unpack"));
  EXPECT_TRUE(fails_with("{{ 'x'.nope() }}", StatusCode::kInvalidArgument, "no method 'nope'"));
  EXPECT_TRUE(fails_with("{{ [1, 2][::0] }}", StatusCode::kInvalidArgument, "step cannot be zero"));
  EXPECT_TRUE(
      fails_with("{{ range(0, 5, 0) }}", StatusCode::kInvalidArgument, "step cannot be zero"));
}

// ---- hostile templates: every case ends with an error, never a crash or a hang -----------------

TEST(JinjaHostile, DeepNestingIsRejectedAtParse) {
  const std::string parens = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  Result<Template> t = Template::parse(parens);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kResourceExhausted);

  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  chain += " }}";
  t = Template::parse(chain);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kResourceExhausted);

  std::string nots = "{{ ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  nots += "x }}";
  EXPECT_EQ(Template::parse(nots).status().code(), StatusCode::kResourceExhausted);

  std::string ifs;
  for (int i = 0; i < 5000; ++i) ifs += "{% if true %}";
  for (int i = 0; i < 5000; ++i) ifs += "{% endif %}";
  EXPECT_EQ(Template::parse(ifs).status().code(), StatusCode::kResourceExhausted);

  std::string lists = "{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}";
  EXPECT_EQ(Template::parse(lists).status().code(), StatusCode::kResourceExhausted);
}

TEST(JinjaHostile, RunawayRecursionHitsTheDepthLimit) {
  EXPECT_TRUE(fails_with("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
                         StatusCode::kResourceExhausted, "nested deeper"));
  EXPECT_TRUE(fails_with("{% macro f(n) %}{{ f(n + 1) ~ n }}{% endmacro %}{{ f(0) }}",
                         StatusCode::kResourceExhausted, "nested deeper"));
}

TEST(JinjaHostile, LongLoopsHitTheStepLimit) {
  RenderOptions options;
  options.limits.max_steps = 100000;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(
      fails_with("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                 "{% endfor %}{% endfor %}{% endfor %}",
                 StatusCode::kResourceExhausted, "steps", {}, options));
  // Default limits too: a billion iterations stop within the default budget, quickly.
  EXPECT_TRUE(
      fails_with("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                 "{{ k }}{% endfor %}{% endfor %}{% endfor %}",
                 StatusCode::kResourceExhausted, ""));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
}

TEST(JinjaHostile, SizesAreBounded) {
  EXPECT_TRUE(fails_with("{{ 'x' * 1000000000 }}", StatusCode::kResourceExhausted, "string"));
  EXPECT_TRUE(
      fails_with("{{ range(1000000000) | length }}", StatusCode::kResourceExhausted, "entries"));
  EXPECT_TRUE(fails_with("{{ [1] * 1000000000 }}", StatusCode::kResourceExhausted, "entries"));
  EXPECT_TRUE(
      fails_with("{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
                 "{% set ns.s = ns.s + ns.s %}{% endfor %}",
                 StatusCode::kResourceExhausted, "string"));
  RenderOptions small;
  small.limits.max_output_bytes = 1000;
  EXPECT_TRUE(fails_with("{% for i in range(1000) %}0123456789{% endfor %}",
                         StatusCode::kResourceExhausted, "output exceeds", {}, small));
  // Empty nested loops over one existing list still cost a step per iteration.
  EXPECT_TRUE(
      fails_with("{% set l = range(1000) | list %}{% for a in l %}{% for b in l %}"
                 "{% for c in l %}{% endfor %}{% endfor %}{% endfor %}",
                 StatusCode::kResourceExhausted, "steps"));
  // Appending in a loop over the same list terminates: the loop walks a snapshot.
  EXPECT_EQ(r("{% set l = [1, 2] %}{% for x in l %}{{ l.append(x) }}{% endfor %}{{ l | length }}"),
            "4");
}

TEST(JinjaHostile, CyclesAndSharingDoNotLoopForever) {
  // A namespace that contains itself: printing, tojson and == stop at the depth limit.
  const char* cycle = "{% set ns = namespace() %}{% set ns.self = ns %}";
  EXPECT_TRUE(fails_with(std::string(cycle) + "{{ ns }}", StatusCode::kInvalidArgument, "cyclic"));
  EXPECT_TRUE(
      fails_with(std::string(cycle) + "{{ ns | tojson }}", StatusCode::kInvalidArgument, "cyclic"));
  // (An object equals itself without a walk, as in Python.)
  EXPECT_EQ(r(std::string(cycle) + "{{ ns == ns.self.self }}"), "True");
  EXPECT_TRUE(
      fails_with("{% set a = namespace() %}{% set a.self = a %}{% set b = namespace() %}"
                 "{% set b.self = b %}{{ a == b }}",
                 StatusCode::kInvalidArgument, "cyclic"));
  EXPECT_TRUE(fails_with("{% set l = [] %}{{ l.append(l) }}{{ l }}", StatusCode::kInvalidArgument,
                         "cyclic"));
  // A DAG that doubles at each level: exponential to print, so it must hit a limit.
  EXPECT_FALSE(render("{% set ns = namespace(v=[1]) %}{% for i in range(60) %}"
                      "{% set ns.v = [ns.v, ns.v] %}{% endfor %}{{ ns.v }}")
                   .ok());
  EXPECT_FALSE(render("{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(60) %}"
                      "{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}"
                      "{{ ns.a == ns.b }}")
                   .ok());
}

TEST(JinjaHostile, DeepInputDataIsRejected) {
  Data deep(num(1));
  for (int i = 0; i < 1000; ++i) deep = Data(Data::Array{std::move(deep)});
  EXPECT_TRUE(fails_with("{{ x }}", StatusCode::kInvalidArgument, "nested deeper",
                         {{"x", std::move(deep)}}));
}

// Random splices of template fragments: parse and render must always return (ok or error).
TEST(JinjaHostile, RandomTemplatesNeverCrash) {
  const std::vector<std::string> pieces = {"{{",
                                           "}}",
                                           "{%",
                                           "%}",
                                           "{#",
                                           "#}",
                                           "-",
                                           "~",
                                           " if ",
                                           " for ",
                                           " in ",
                                           " endif ",
                                           " endfor ",
                                           " set ",
                                           " macro ",
                                           " endmacro ",
                                           " else ",
                                           " x ",
                                           " loop.index ",
                                           "(",
                                           ")",
                                           "[",
                                           "]",
                                           "{",
                                           "}",
                                           ":",
                                           ",",
                                           "'s'",
                                           "\"",
                                           "1",
                                           "0",
                                           " | ",
                                           " trim",
                                           " tojson",
                                           "+",
                                           "*",
                                           "/",
                                           "%",
                                           " is ",
                                           " not ",
                                           " defined ",
                                           " and ",
                                           " or ",
                                           "=",
                                           "==",
                                           ".",
                                           "\n",
                                           " ",
                                           "messages",
                                           " namespace()",
                                           " range(9)",
                                           " break ",
                                           " filter ",
                                           "\\",
                                           "\xff",
                                           "x.y"};
  std::mt19937 rng(12345);
  const Data::Object context = {{"messages", Data(Data::Array{message("user", "hi")})}};
  RenderOptions options;
  options.limits.max_steps = 20000;
  int parsed = 0;
  int rendered = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string source;
    const int n = 1 + static_cast<int>(rng() % 24);
    for (int i = 0; i < n; ++i) source += pieces[rng() % pieces.size()];
    Result<Template> t = Template::parse(source);
    if (!t.ok()) continue;
    ++parsed;
    if (t->render(context, options).ok()) ++rendered;
  }
  // Some of each: the generator exercises both paths.
  EXPECT_GT(parsed, 100);
  EXPECT_GT(rendered, 50);
}

// ---- type names in errors ----------------------------------------------------------------------

TEST(JinjaErrors, NameEveryKindOfValue) {
  using Cases = std::vector<std::pair<std::string, std::string>>;
  // The renderer's messages (a loop over none renders nothing, as in minja).
  const Cases loops = {{"true", "bool"}, {"1", "int"}, {"1.5", "float"}, {"range", "callable"}};
  for (const auto& [value, name] : loops) {
    EXPECT_TRUE(fails_with("{% for x in " + value + " %}{% endfor %}", StatusCode::kInvalidArgument,
                           "cannot loop over " + name))
        << value;
  }
  // The builtins' messages.
  const Cases filters = {{"none", "none"}, {"'x'", "string"}, {"[1]", "list"}, {"1", "int"}};
  for (const auto& [value, name] : filters) {
    EXPECT_TRUE(fails_with("{{ " + value + " | dictsort }}", StatusCode::kInvalidArgument,
                           "dictsort expects a dict, got " + name))
        << value;
  }
  EXPECT_TRUE(fails_with("{{ {'a': 1} | abs }}", StatusCode::kInvalidArgument,
                         "abs expects a number, got dict"));
}

// ---- concurrency -------------------------------------------------------------------------------

TEST(JinjaThreads, OneTemplateRendersFromManyThreads) {
  Result<Template> t = Template::parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
      "<{{ m.role }}>{{ m.content | trim }}{% endfor %}{{ ns.n }}");
  ASSERT_TRUE(t.ok());
  const Data::Object context = {
      {"messages", Data(Data::Array{message("user", " a "), message("assistant", "b")})}};
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(8);
  for (size_t i = 0; i < outputs.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 200; ++k) outputs[i] = t->render(context).value();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& out : outputs) EXPECT_EQ(out, "<user>a<assistant>b2");
}

}  // namespace
}  // namespace quire::engine::jinja
