#!/usr/bin/env node
// The peer of lightrl-bench-tokenizer: Hugging Face's Rust `tokenizers` library (the npm package
// `tokenizers`, installed by scripts/fetch-testdata --reference) encoding the same documents, on one thread.
//
//   RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
//     node bench/tokenizer_peer.js TOKENIZER_JSON DOCUMENTS_JSON IDS_OUT WARMUP REPEATS
//
// DOCUMENTS_JSON is a JSON array of strings. Each timed run is one encodeBatch of all of them
// without special tokens (serial: parallelism is off). Prints one line:
//   peer seconds=S cpu_per_wall=C
// with S the median of REPEATS runs after WARMUP untimed ones and C the process's CPU time over
// wall time during the timed runs (about 1 when it runs on one thread). IDS_OUT receives the ids
// of the first run: per document a little-endian uint32 count and then its int32 ids.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const [jsonPath, documentsPath, idsOut, warmupText, repeatsText] = process.argv.slice(2);
const cache = process.env.LIGHTRL_TESTDATA || path.join(os.homedir(), '.cache/lightrl/testdata');
const {Tokenizer} = require(path.join(cache, 'npm-tokenizers-0.23.2/node_modules/tokenizers'));

async function main() {
  const tokenizer = Tokenizer.fromFile(jsonPath);
  const documents = JSON.parse(fs.readFileSync(documentsPath, 'utf8'));
  const run = () => tokenizer.encodeBatch(documents, {addSpecialTokens: false});
  const first = await run();
  const parts = [];
  for (const encoding of first) {
    const ids = encoding.getIds();
    const chunk = Buffer.alloc(4 + 4 * ids.length);
    chunk.writeUInt32LE(ids.length, 0);
    ids.forEach((id, i) => chunk.writeInt32LE(id, 4 + 4 * i));
    parts.push(chunk);
  }
  fs.writeFileSync(idsOut, Buffer.concat(parts));
  for (let i = 1; i < Number(warmupText); ++i) await run();
  const seconds = [];
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  for (let i = 0; i < Number(repeatsText); ++i) {
    const start = process.hrtime.bigint();
    await run();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const wall = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  seconds.sort((a, b) => a - b);
  const mid = seconds.length >> 1;
  const median = seconds.length % 2 ? seconds[mid] : (seconds[mid - 1] + seconds[mid]) / 2;
  console.log(`peer seconds=${median} cpu_per_wall=${(cpu.user + cpu.system) / 1e6 / wall}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
