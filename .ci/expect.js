// Usage: node .ci/expect.js FILE 'JS expression over r'
// Parses FILE as JSON into r and exits non-zero, printing r, when the expression is false.
const fs = require('fs');
const [file, expr] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
let ok = false;
try { ok = Boolean(new Function('r', `return (${expr});`)(r)); } catch (e) { console.error(e.message); }
if (!ok) {
  console.error(`assertion failed on ${file}: ${expr}`);
  console.error(JSON.stringify(r).slice(0, 3000));
  process.exit(1);
}
console.log(`ok: ${expr}`);
