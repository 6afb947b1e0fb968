#!/usr/bin/env node
// KaTeX check for the generated per-step LaTeX fragments (derivations/<name>/NN-<step>.tex).
//
// Usage:
//   node tests/latex_check.mjs < items.json
//
// stdin: a JSON array of {"name": str, "tex": str}. Each `tex` is a bare LaTeX math body (no `$`
// delimiters), rendered in display mode with throwOnError, all in this one process.
// stdout: one JSON object {"katex": version, "total": n, "passed": n, "failures": [{name, error}]}.
// Exit code: 0 if every item renders, 1 if any fails, 2 on bad input or if KaTeX is not installed.
//
// MACROS holds the few commands the fragments may use that KaTeX lacks; keep them faithful to what
// the standalone documents load (amsmath, amssymb, bm), so a KaTeX pass means a pdflatex pass too.

import { readFileSync } from "node:fs";

// (KaTeX 0.19 already has \boldsymbol, \bm, \operatorname, \mathbb, \coloneqq, \eqqcolon, aligned.)
const MACROS = {};

let katex;
try {
  katex = (await import("katex")).default;
} catch (err) {
  process.stdout.write(JSON.stringify({ error: `cannot load katex: ${err.message}` }) + "\n");
  process.exit(2);
}

let items;
try {
  items = JSON.parse(readFileSync(0, "utf8"));
  if (!Array.isArray(items)) throw new Error("expected a JSON array of {name, tex}");
} catch (err) {
  process.stdout.write(JSON.stringify({ error: `bad input: ${err.message}` }) + "\n");
  process.exit(2);
}

const failures = [];
for (const [i, item] of items.entries()) {
  const name = item && typeof item.name === "string" ? item.name : `#${i}`;
  const tex = item && item.tex;
  if (typeof tex !== "string" || tex.trim() === "") {
    failures.push({ name, error: "empty or missing tex" });
    continue;
  }
  try {
    katex.renderToString(tex, {
      displayMode: true,
      throwOnError: true,
      strict: "error", // unicode in math mode, etc. is an error, not a console warning
      macros: { ...MACROS }, // fresh copy: \gdef in one fragment must not leak into the next
    });
  } catch (err) {
    failures.push({ name, error: String(err && err.message ? err.message : err) });
  }
}

process.stdout.write(
  JSON.stringify(
    { katex: katex.version, total: items.length, passed: items.length - failures.length, failures },
    null,
    2,
  ) + "\n",
);
process.exit(failures.length === 0 ? 0 : 1);
