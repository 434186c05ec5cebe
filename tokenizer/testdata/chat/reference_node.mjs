// Renders every chat template of templates.json with every conversation of conversations.json
// through the npm package @huggingface/jinja (the renderer of transformers.js) and writes the
// expected outputs of this renderer: expected/node/<template>.json.
//
// Install the package in a temporary folder (node_modules is never committed), then run:
//
//   dir=$(mktemp -d) && (cd "$dir" && npm install @huggingface/jinja@0.5.x)
//   node tokenizer/testdata/chat/reference_node.mjs "$dir"            # writes expected/
//   node tokenizer/testdata/chat/reference_node.mjs "$dir" --check    # compares, exits 1 on a difference
//
// Templates named by "testdata" are read from $LIGHTRL_TESTDATA (default
// ~/.cache/lightrl/testdata; scripts/fetch-testdata fills it); the others from this folder.
//
// The context of a render is the one transformers' apply_chat_template builds: the special
// tokens of the tokenizer config (bos_token, eos_token, ... and additional_special_tokens),
// messages, tools (null when the conversation has none), documents (null),
// add_generation_prompt and the conversation's kwargs. raise_exception throws the template's
// own message; such a cell records {"error": message, "raised": true}, any other failure
// {"error": message, "raised": false}, a rendered one {"text": output}.
//
// reference_transformers.py writes expected/transformers/ with transformers (Jinja2), the final
// word: the C++ tests compare against those files byte for byte, and count the cells where this
// renderer agrees.
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const [moduleDir, mode] = process.argv.slice(2);
if (!moduleDir || (mode && mode !== "--check")) {
  console.error("usage: reference_node.mjs FOLDER_WITH_NODE_MODULES [--check]");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(moduleDir), "package.json"));
const { Environment, Template } = require("@huggingface/jinja");
const version = JSON.parse(fs.readFileSync(
  path.join(path.resolve(moduleDir), "node_modules/@huggingface/jinja/package.json"), "utf8")).version;

const SPECIAL_TOKENS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
  "cls_token", "mask_token"];

// The string of a special-token entry: a string, or an AddedToken object's content.
function tokenString(value) {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof value.content === "string") {
    return value.content;
  }
  return null;
}

function loadTemplate(entry) {
  if (entry.template) {
    return {
      source: fs.readFileSync(path.join(here, entry.template), "utf8"),
      tokens: entry.special_tokens,
    };
  }
  const root = process.env.LIGHTRL_TESTDATA || path.join(os.homedir(), ".cache/lightrl/testdata");
  const file = entry.testdata ? path.join(root, entry.testdata) : path.join(here, entry.config);
  if (!fs.existsSync(file)) {
    console.error(`${file} is missing: run scripts/fetch-testdata`);
    process.exit(1);
  }
  const config = JSON.parse(fs.readFileSync(file, "utf8"));
  const tokens = {};
  for (const key of SPECIAL_TOKENS) {
    const token = tokenString(config[key]);
    if (token !== null) tokens[key] = token;
  }
  if (Array.isArray(config.additional_special_tokens)) {
    tokens.additional_special_tokens = config.additional_special_tokens.map(tokenString);
  }
  let source = config.chat_template;
  if (Array.isArray(source)) {
    source = source.find((named) => named.name === "default").template;
  }
  return { source, tokens };
}

// The package's own raise_exception throws a plain Error, like its other failures; this one is
// told apart. It replaces the global as the package declares it (a context variable may not).
class RaisedError extends Error {}
const declare = Environment.prototype.set;
Environment.prototype.set = function (name, value) {
  const raise = (message) => {
    throw new RaisedError(message);
  };
  return declare.call(this, name, name === "raise_exception" ? raise : value);
};

function render(template, tokens, conversation) {
  const context = {
    ...tokens,
    messages: conversation.messages,
    tools: conversation.tools ?? null,
    documents: null,
    add_generation_prompt: conversation.add_generation_prompt,
    ...(conversation.kwargs ?? {}),
  };
  try {
    return { text: template.render(context) };
  } catch (error) {
    return { error: error.message, raised: error instanceof RaisedError };
  }
}

const templates = JSON.parse(fs.readFileSync(path.join(here, "templates.json"), "utf8"));
const conversations = JSON.parse(fs.readFileSync(path.join(here, "conversations.json"), "utf8"));
fs.mkdirSync(path.join(here, "expected/node"), { recursive: true });
let differences = 0;
for (const entry of templates) {
  const { source, tokens } = loadTemplate(entry);
  const template = new Template(source);
  const cells = {};
  for (const conversation of conversations) {
    cells[conversation.name] = render(template, tokens, conversation);
  }
  const file = path.join(here, "expected/node", `${entry.name}.json`);
  const text = JSON.stringify({ renderer: `@huggingface/jinja ${version}`, cells }, null, 2) + "\n";
  if (mode === "--check") {
    const old = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")).cells : {};
    for (const [name, cell] of Object.entries(cells)) {
      if (JSON.stringify(cell) !== JSON.stringify(old[name])) {
        console.log(`${entry.name} x ${name}: differs from the committed expected output`);
        differences++;
      }
    }
  } else {
    fs.writeFileSync(file, text);
  }
}
console.log(`reference_node: ${templates.length} templates x ${conversations.length} conversations` +
  (mode === "--check" ? `, ${differences} difference(s)` : ", written to expected/node/"));
process.exit(differences ? 1 : 0);
