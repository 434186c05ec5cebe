// The Jinja interpreter's semantics, each expectation checked against Jinja2 3.1 set up as
// transformers sets it up (trim_blocks, lstrip_blocks, tojson as json.dumps).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/chat_template.h"

namespace lightrl {
namespace {

// Renders `source` with `extra` as its variables; the error's text when it fails.
std::string Render(const std::string& source,
                   nlohmann::ordered_json extra = nlohmann::ordered_json::object()) {
  StatusOr<ChatTemplate> chat = ChatTemplate::Parse(source);
  if (!chat.ok()) return "PARSE " + chat.status().ToString();
  ChatInput input;
  input.extra = std::move(extra);
  StatusOr<std::string> out = chat->Render(input);
  return out.ok() ? *out : "RENDER " + out.status().ToString();
}

TEST(JinjaTest, WhitespaceControlAsTransformersSetsIt) {
  // lstrip_blocks and trim_blocks around block tags; never around {{ }}.
  EXPECT_EQ(Render("  {% if true %}\n  x\n  {% endif %}\n  y\n"), "  x\n  y");
  EXPECT_EQ(Render("{{ 'x' }}\n{{ 'y' }}\n"), "x\ny");
  // Comments are trimmed like blocks.
  EXPECT_EQ(Render("a {# c #}\n b\n  {# c2 #}\nz"), "a  b\nz");
  // "-" strips every whitespace character, newlines included, on its side.
  EXPECT_EQ(Render("a  \n {{- 'b' -}} \n\n c"), "abc");
  EXPECT_EQ(Render("a\n  {%- if true -%}\n  b  {%- endif %}"), "ab");
  // Only one trailing newline of the template goes; \r\n counts as one.
  EXPECT_EQ(Render("x\r\n\r\n"), "x\n");
}

TEST(JinjaTest, PrintsValuesAsPython) {
  EXPECT_EQ(Render("{{ none }}|{{ true }}|{{ 1.0 }}|{{ 1e20 }}|{{ 0.1 + 0.2 }}|{{ 1e-5 }}"),
            "None|True|1.0|1e+20|0.30000000000000004|1e-05");
  EXPECT_EQ(Render("{{ [1, 'a', none, true] }}|{{ {'a': 1} }}|{{ (1,) }}|{{ ('a', 2) }}"),
            "[1, 'a', None, True]|{'a': 1}|(1,)|('a', 2)");
  EXPECT_EQ(Render("{{ [\"it's\", 'q\"', 'a\\nb', 'é'] }}"), "[\"it's\", 'q\"', 'a\\nb', 'é']");
  EXPECT_EQ(Render("{{ 1e15 }}|{{ 1e16 }}|{{ -0.0 }}|{{ 2.5e-3 }}|{{ 1_000 }}"),
            "1000000000000000.0|1e+16|-0.0|0.0025|1000");
}

TEST(JinjaTest, ArithmeticAndComparisonAsPython) {
  EXPECT_EQ(Render("{{ 7 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}"),
            "3.5|3|-4|1|2|1024");
  EXPECT_EQ(Render("{{ 'ab' * 3 }}|{{ [1] + [2] }}|{{ 'a' ~ 1 ~ none }}|{{ 1 + true }}"),
            "ababab|[1, 2]|a1None|2");
  EXPECT_EQ(Render("{{ 1 == 1.0 }}{{ true == 1 }}{{ 1 == '1' }}{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}"),
            "TrueTrueFalseTrueFalse");
  EXPECT_EQ(Render("{{ 'a' in 'cat' }}{{ 1 in [1] }}{{ 'k' in {'k': 1} }}{{ 'x' not in 'y' }}"),
            "TrueTrueTrueTrue");
  EXPECT_EQ(Render("{{ true and 'a' }}{{ false or 'b' }}{{ none or 0 }}{{ not 1 }}"), "ab0False");
  EXPECT_EQ(Render("{{ 'a' if false }}|{{ 'y' if 0 else 'n' }}"), "|n");
  EXPECT_EQ(Render("{{ 'it''s' }}{{ 'a' \"b\" }}"),
            "its"
            "ab");
  EXPECT_EQ(Render("{{ 'a' + 1 }}"),
            "RENDER INVALID_ARGUMENT: chat_template:1: can only concatenate str (not \"int\") "
            "to str");
  EXPECT_EQ(Render("{{ 5 // 0 }}"),
            "RENDER INVALID_ARGUMENT: chat_template:1: integer division or modulo by zero");
  EXPECT_EQ(Render("{{ 9223372036854775807 + 1 }}"),
            "RENDER OUT_OF_RANGE: chat_template:1: integer overflow beyond 64 bits");
}

TEST(JinjaTest, UndefinedAsJinja2Default) {
  EXPECT_EQ(Render("[{{ u }}]{{ u is defined }}{{ u|length }}{{ u|list }}{% if u %}t{% endif %}"),
            "[]False0[]");
  EXPECT_EQ(Render("{% for x in u %}x{% endfor %}{{ 'a' ~ u }}{{ 'x' in u }}{{ u == u }}"),
            "aFalseTrue");
  EXPECT_EQ(Render("{{ d.x }}|{{ d.x is defined }}|{{ none.x }}|{{ 'abc'.foo }}|{{ [1][5] }}",
                   {{"d", nlohmann::ordered_json::object()}}),
            "|False|||");
  EXPECT_EQ(Render("{{ u.x }}"), "RENDER INVALID_ARGUMENT: chat_template:1: 'u' is undefined");
  EXPECT_EQ(Render("\n{{ d.x.y }}", {{"d", nlohmann::ordered_json::object()}}),
            "RENDER INVALID_ARGUMENT: chat_template:2: 'dict object' has no attribute 'x'");
  EXPECT_EQ(Render("{{ u + 'a' }}"), "RENDER INVALID_ARGUMENT: chat_template:1: 'u' is undefined");
  EXPECT_EQ(Render("{{ u|tojson }}"),
            "RENDER INVALID_ARGUMENT: chat_template:1: Object of type Undefined is not JSON "
            "serializable");
}

TEST(JinjaTest, ScopesOfLoopsMacrosAndNamespaces) {
  // A set in a loop body lasts one iteration; the outer value shows before it.
  EXPECT_EQ(Render("{% set x = 0 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }};{% endfor %}"
                   "{{ x }}"),
            "01;02;0");
  EXPECT_EQ(Render("{% set x = 5 %}{% if true %}{% set x = 6 %}{% endif %}{{ x }}"), "6");
  EXPECT_EQ(Render("{% set ns = namespace(a=1) %}{% for i in [1, 2] %}{% set ns.a = ns.a + i %}"
                   "{% endfor %}{{ ns.a }}"),
            "4");
  // A macro sees its defining scope as it is at the call.
  EXPECT_EQ(Render("{% set g = 1 %}{% macro m() %}{{ g }}{% endmacro %}{% set g = 2 %}{{ m() }}"),
            "2");
  EXPECT_EQ(
      Render("{% macro m(a, b='x') %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(2, b='y') }}"),
      "[1x][2y]");
  EXPECT_EQ(Render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
                   "{{ f(3) }}"),
            "321");
  EXPECT_EQ(Render("{% macro m() %}<{{ caller() }}>{% endmacro %}{% call m() %}body{% endcall %}"),
            "<body>");
  EXPECT_EQ(Render("{% macro m() %}{{ caller(2) }}{% endmacro %}{% call(n) m() %}{{ n * 3 }}"
                   "{% endcall %}"),
            "6");
  EXPECT_EQ(Render("{% set x %}in{{ 1 }}{% endset %}{{ x }}|{% set a, b = 1, 2 %}{{ a }}{{ b }}"),
            "in1|12");
  EXPECT_EQ(Render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"),
            "RENDER INVALID_ARGUMENT: chat_template:1: macro calls nested deeper than 200");
}

TEST(JinjaTest, Loops) {
  EXPECT_EQ(Render("{% for i in range(3) %}{{ loop.index }}{{ loop.revindex }}{{ loop.first }}"
                   "{{ loop.last }}{{ loop.length }};{% endfor %}"),
            "13TrueFalse3;22FalseFalse3;31FalseTrue3;");
  EXPECT_EQ(Render("{% for i in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(Render("{% for a, b in [[1, 2], (3, 4)] %}{{ a }}{{ b }}{% endfor %}"), "1234");
  EXPECT_EQ(Render("{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}{{ v }}{% endfor %}"), "b1a2");
  // The filter runs before the loop: loop.length counts what it keeps.
  EXPECT_EQ(Render("{% for x in [1, 2, 3] if x > 1 %}{{ loop.index }}{{ loop.length }}"
                   "{% endfor %}"),
            "1222");
  EXPECT_EQ(Render("{% for x in 'ab' %}{{ loop.previtem }}{{ x }}{{ loop.nextitem }};{% endfor %}"),
            "ab;ab;");
  EXPECT_EQ(Render("{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}"
                   "{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
            "02");
  EXPECT_EQ(Render("{% for a in [1, 2] %}{% for b in [3] %}{{ loop.index }}{{ a }}{% endfor %}"
                   "{{ loop.index }}{% endfor %}"),
            "111122");
  EXPECT_EQ(Render("{% for x in none %}{% endfor %}"),
            "RENDER INVALID_ARGUMENT: chat_template:1: 'NoneType' object is not iterable");
}

TEST(JinjaTest, StringAndDictMethods) {
  EXPECT_EQ(Render("{{ 'Hello World'.split() }}{{ 'a,b'.split(',') }}{{ 'a,b,c'.split(',', 1) }}"
                   "{{ 'a b  c'.split(' ') }}"),
            "['Hello', 'World']['a', 'b']['a', 'b,c']['a', 'b', '', 'c']");
  EXPECT_EQ(Render("{{ ' x '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ '\\n a\\n'.rstrip('\\n') }}|"
                   "{{ '\u3000x'.strip() }}"),
            "x|axx|\n a|x");
  EXPECT_EQ(Render("{{ 'abc'.startswith(('x', 'a')) }}{{ 'abc'.endswith('bc') }}"
                   "{{ 'aXa'.replace('a', 'b') }}{{ 'ab'.upper() }}{{ 'hello world'.title() }}"
                   "{{ '-'.join(['a', 'b']) }}{{ 'héllo'.find('l') }}"),
            "TrueTruebXbABHello Worlda-b2");
  EXPECT_EQ(Render("{{ 'abc'[::-1] }}{{ 'abc'[1:] }}{{ 'héllo'[1] }}{{ [1, 2, 3][-2:] }}"
                   "{{ [1, 2, 3][::2] }}{{ 'abc'[-1] }}"),
            "cbabcé[2, 3][1, 3]c");
  EXPECT_EQ(Render("{{ d.get('b', 2) }}{{ d.get('b') }}{{ d.keys() }}{{ d.values() }}{{ d.a }}",
                   {{"d", {{"a", 1}}}}),
            "2None['a'][1]1");
  // A dict's method wins over its key with ".", the key wins with "[]".
  EXPECT_EQ(Render("{{ d['items'] }}{{ d.items is callable }}", {{"d", {{"items", 1}}}}), "1True");
  EXPECT_EQ(Render("\n\n{{ 'x'.zfill(3) }}"),
            "RENDER UNIMPLEMENTED: chat_template:3: method 'str.zfill' is not supported");
  EXPECT_EQ(Render("{{ 'é'.upper() }}"),
            "RENDER UNIMPLEMENTED: chat_template:1: method 'str.upper' on non-ASCII text is not "
            "supported");
}

TEST(JinjaTest, Filters) {
  EXPECT_EQ(Render("{{ [3, 1, 2]|sort }}{{ [1, 2]|join(', ') }}{{ 'abc'|upper }}"
                   "{{ none|default('d') }}{{ u|default('d') }}{{ ''|default('d', true) }}"),
            "[1, 2, 3]1, 2ABCNoned"
            "d");
  EXPECT_EQ(Render("{{ 'abc'|length }}{{ [1, 2]|count }}{{ {'a': 1}|length }}{{ 'é'|length }}"),
            "3211");
  EXPECT_EQ(Render("{{ [{'a': 1}, {'a': 2}]|map(attribute='a')|list }}"
                   "{{ [{'a': 1}, {'b': 2}]|map(attribute='a', default=0)|list }}"
                   "{{ ['a', 'B']|map('upper')|list }}"),
            "[1, 2][1, 0]['A', 'B']");
  EXPECT_EQ(Render("{{ [1, 'a']|select('string')|list }}{{ [1, 2, 3]|reject('odd')|list }}"
                   "{{ [{'a': 1}, {}]|selectattr('a', 'defined')|list }}"
                   "{{ [{'a': 1}, {'a': 2}]|rejectattr('a', 'equalto', 2)|list }}"),
            "['a'][2][{'a': 1}][{'a': 1}]");
  EXPECT_EQ(Render("{{ ['b', 'A', 'a']|unique|list }}{{ ['b', 'A', 'a']|sort }}"
                   "{{ {'b': 1, 'a': 2}|dictsort }}{{ {'b': 1, 'a': 2}|items|list }}"),
            "['b', 'A']['A', 'a', 'b'][('a', 2), ('b', 1)][('b', 1), ('a', 2)]");
  EXPECT_EQ(Render("{{ 3.0|int }}{{ 'x'|int }}{{ ' 12 '|int }}{{ '1.9'|int }}{{ true|int }}"
                   "{{ 1|float }}{{ 'a'|float }}{{ 10|string + 'x' }}"),
            "3012111.00.010x");
  EXPECT_EQ(Render("{{ [1, 2]|first }}{{ [1, 2]|last }}{{ 'ab'|first }}{{ [1, 2]|reverse|list }}"
                   "{{ 'ab'|reverse }}{{ -3|abs }}"),
            "12a[2, 1]ba3");
  EXPECT_EQ(Render("{{ '  a  '|trim }}|{{ 'xax'|trim('x') }}|{{ 'a-b'|replace('-', '+') }}|"
                   "{{ 'hELLO'|capitalize }}|{{ '<a\"&'|e }}|{{ 1|safe }}"),
            "a|a|a+b|Hello|&lt;a&#34;&amp;|1");
  EXPECT_EQ(
      Render("{{ 'abc'|indent(2) }}|{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}"),
      "abc|a\n  b\n\n  c|  a\n  b");
}

TEST(JinjaTest, ToJsonAsTransformersDefinesIt) {
  nlohmann::ordered_json value = {{"b", {1, nullptr, true, 1.5}}, {"a", "é\"\n\x01"}};
  EXPECT_EQ(Render("{{ v|tojson }}", {{"v", value}}),
            "{\"b\": [1, null, true, 1.5], \"a\": \"é\\\"\\n\\u0001\"}");
  EXPECT_EQ(Render("{{ v|tojson(indent=2) }}", {{"v", value}}),
            "{\n  \"b\": [\n    1,\n    null,\n    true,\n    1.5\n  ],\n  \"a\": "
            "\"é\\\"\\n\\u0001\"\n}");
  EXPECT_EQ(Render("{{ v|tojson(sort_keys=true, separators=(',', ':')) }}", {{"v", value}}),
            "{\"a\":\"é\\\"\\n\\u0001\",\"b\":[1,null,true,1.5]}");
  EXPECT_EQ(
      Render("{{ 'é😀'|tojson(ensure_ascii=true) }}{{ []|tojson(indent=2) }}{{ (1, 'a')|tojson }}"),
      "\"\\u00e9\\ud83d\\ude00\"[][1, \"a\"]");
}

TEST(JinjaTest, Tests) {
  EXPECT_EQ(Render("{{ x is string }}{{ x is iterable }}{{ x is sequence }}{{ x is mapping }}",
                   {{"x", "s"}}),
            "TrueTrueTrueFalse");
  EXPECT_EQ(Render("{{ 1 is number }}{{ true is number }}{{ true is integer }}{{ 1.0 is float }}"
                   "{{ none is none }}{{ true is true }}{{ 0 is false }}{{ false is boolean }}"),
            "TrueTrueFalseTrueTrueTrueFalseTrue");
  EXPECT_EQ(Render("{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 1 is eq 1 }}"
                   "{{ 2 is gt 1 }}{{ 'x' is in 'xy' }}{{ 1 is not in [2] }}{{ 'a' is lower }}"),
            "TrueTrueTrueTrueTrueTrueTrueTrue");
  EXPECT_EQ(Render("{{ u is iterable }}{{ u is mapping }}{{ none is iterable }}"),
            "TrueFalseFalse");
}

}  // namespace
}  // namespace lightrl
