// Oracle: the official HF tokenizers library (npm tokenizers@0.23.2, Rust core) encodes a JSONL
// file of strings, one JSON array of ids per line out. Used by the live oracle test and the
// tokenizer benchmark. Usage: node hf_tokenizers_encode.js NODE_MODULES TOKENIZER_JSON IN OUT [--time]
const fs = require('fs');
const path = require('path');
const [modules, tokenizerPath, inPath, outPath, timeFlag] = process.argv.slice(2);
const { Tokenizer } = require(path.resolve(modules, 'tokenizers'));

async function main() {
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const texts = fs.readFileSync(inPath, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  const start = process.hrtime.bigint();
  const encodings = await tokenizer.encodeBatch(texts, { addSpecialTokens: false });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.writeFileSync(outPath, encodings.map((e) => JSON.stringify(Array.from(e.getIds()))).join('\n') + '\n');
  if (timeFlag === '--time') console.log(JSON.stringify({ seconds }));
}
main().catch((e) => { console.error(e); process.exit(1); });
