#!/usr/bin/env node
// Writes the reference fixtures of the tokenizer tests: what Hugging Face's Rust `tokenizers`
// library (the npm package `tokenizers`, pinned in scripts/fetch-testdata) gives for every line
// of corpus.txt with each tokenizer. To rerun (after changing the corpus or a tokenizer):
//
//   scripts/fetch-testdata --reference && node tokenizer/testdata/make_fixtures.js
//
// and commit tokenizer/testdata/fixtures/. LIGHTRL_TESTDATA picks the cache as for the tests.
//
// Tokenizers: the six real ones of scripts/fetch-testdata (<cache>/<name>/models/
// tokenizer.json), and the synthetic ones of synthetic/*.json, each a real tokenizer.json
// ("base", or none) with its top-level members replaced by "override", its model's members by
// "model_override", and "append_added_tokens" appended to its added tokens.
//
// Corpus: one case per line, '#' lines are comments; escapes \\ \n \r \t \xHH (a raw byte)
// \u{H...} (a code point). A case's bytes go to the library as JavaScript reads them with the
// WHATWG decoder: each maximal ill-formed UTF-8 subsequence becomes one U+FFFD, which is what
// Rust's String::from_utf8_lossy does too (the library's API takes only valid strings).
//
// Fixture: fixtures/<tokenizer>.json, one case per corpus case, in order, each
//   [ids with special tokens, ids without, decode(ids with, skip_special_tokens = false),
//    decode(ids with, true), decode(reversed ids without, false)]
// (the reversed ids make byte sequences that are not UTF-8, to check how decoding repairs them).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const REFERENCE_VERSION = '0.23.2';
const REAL = ['qwen3', 'llama3_1', 'deepseek_v3', 'gemma3', 'gptoss', 'llama2'].map(
    (name) => `tokenizer-${name}-3.7.2`);

const here = __dirname;
const cache = process.env.LIGHTRL_TESTDATA || path.join(os.homedir(), '.cache/lightrl/testdata');
const moduleDir = path.join(cache, `npm-tokenizers-${REFERENCE_VERSION}/node_modules/tokenizers`);
if (!fs.existsSync(moduleDir)) {
  console.error(`make_fixtures: ${moduleDir} is missing; run scripts/fetch-testdata --reference`);
  process.exit(1);
}
const {Tokenizer} = require(moduleDir);
const version = require(path.join(moduleDir, 'package.json')).version;
if (version !== REFERENCE_VERSION) throw new Error(`tokenizers ${version}, want ${REFERENCE_VERSION}`);

// The bytes of one corpus line, escapes resolved.
function unescape(line) {
  const bytes = [];
  for (let i = 0; i < line.length;) {
    if (line[i] !== '\\') {
      const cp = line.codePointAt(i);
      bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
      i += cp > 0xFFFF ? 2 : 1;
      continue;
    }
    const c = line[i + 1];
    if (c === '\\') bytes.push(0x5C), i += 2;
    else if (c === 'n') bytes.push(0x0A), i += 2;
    else if (c === 'r') bytes.push(0x0D), i += 2;
    else if (c === 't') bytes.push(0x09), i += 2;
    else if (c === 'x') bytes.push(parseInt(line.substr(i + 2, 2), 16)), i += 4;
    else if (c === 'u' && line[i + 2] === '{') {
      const end = line.indexOf('}', i);
      bytes.push(...Buffer.from(String.fromCodePoint(parseInt(line.slice(i + 3, end), 16)), 'utf8'));
      i = end + 1;
    } else {
      throw new Error(`bad escape \\${c} in: ${line}`);
    }
  }
  return Buffer.from(bytes);
}

function readCorpus() {
  const lines = fs.readFileSync(path.join(here, 'corpus.txt'), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const decoder = new TextDecoder('utf-8', {fatal: false, ignoreBOM: true});
  return lines.filter((line) => !line.startsWith('#')).map((line) => {
    if (/[\t\r]| $/.test(line)) throw new Error(`write tabs, CRs and trailing spaces as escapes: ${line}`);
    return decoder.decode(unescape(line));
  });
}

function tokenizerJson(name) {
  const real = (base) => JSON.parse(fs.readFileSync(path.join(cache, base, 'models/tokenizer.json'), 'utf8'));
  if (REAL.includes(name)) return real(name);
  const spec = JSON.parse(fs.readFileSync(path.join(here, 'synthetic', `${name}.json`), 'utf8'));
  const json = spec.base ? real(spec.base) : {};
  Object.assign(json, spec.override || {});
  Object.assign(json.model, spec.model_override || {});
  json.added_tokens = (json.added_tokens || []).concat(spec.append_added_tokens || []);
  return json;
}

async function main() {
  const corpus = readCorpus();
  const synthetic = fs.readdirSync(path.join(here, 'synthetic')).filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5)).sort();
  fs.mkdirSync(path.join(here, 'fixtures'), {recursive: true});
  for (const name of REAL.concat(synthetic)) {
    const json = tokenizerJson(name);
    const tokenizer = Tokenizer.fromString(JSON.stringify(json));
    for (const token of json.added_tokens) {  // The C++ loader refuses ids the library would not give.
      if (tokenizer.tokenToId(token.content) !== token.id) throw new Error(`${name}: id of ${token.content}`);
    }
    const cases = [];
    for (const text of corpus) {
      const withSpecial = (await tokenizer.encode(text, null, {addSpecialTokens: true})).getIds();
      const without = (await tokenizer.encode(text, null, {addSpecialTokens: false})).getIds();
      cases.push(JSON.stringify([withSpecial, without, await tokenizer.decode(withSpecial, false),
        await tokenizer.decode(withSpecial, true), await tokenizer.decode(without.slice().reverse(), false)]));
    }
    const out = `{"tokenizer": ${JSON.stringify(name)}, "reference": "tokenizers ${version} (npm)",\n` +
        ` "cases": [\n${cases.join(',\n')}\n]}\n`;
    fs.writeFileSync(path.join(here, 'fixtures', `${name}.json`), out);
    console.log(`make_fixtures: ${name}: ${cases.length} cases`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
