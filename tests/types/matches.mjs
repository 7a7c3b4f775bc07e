// The declarations say what the library has: every class, function and
// method web/chatnode.d.mts declares exists in web/chatnode.mjs (by
// TypeScript's own parser over the declarations, and the module itself),
// and every public method of the library is declared. Exits 1 naming any
// difference.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, '../../web');
const library = await import(path.join(web, 'chatnode.mjs'));
const text = readFileSync(path.join(web, 'chatnode.d.mts'), 'utf8');
const source = ts.createSourceFile('chatnode.d.mts', text, ts.ScriptTarget.Latest, true);

const problems = [];
const declared = new Map(); // class -> method names
for (const node of source.statements) {
  const exported = node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  if (!exported) continue;
  if (ts.isFunctionDeclaration(node) && typeof library[node.name.text] !== 'function')
    problems.push(`function ${node.name.text} is declared but not exported`);
  if (ts.isClassDeclaration(node)) {
    const name = node.name.text;
    if (typeof library[name] !== 'function') { problems.push(`class ${name} is declared but not exported`); continue; }
    const methods = new Set();
    for (const member of node.members)
      if (ts.isMethodDeclaration(member)) methods.add(member.name.text);
    declared.set(name, methods);
    for (const method of methods)
      if (typeof library[name].prototype[method] !== 'function')
        problems.push(`${name}.${method} is declared but the library has no such method`);
  }
}
// Public methods: not starting with _ (the library's own), not the constructor.
for (const [name, methods] of declared) {
  for (const method of Object.getOwnPropertyNames(library[name].prototype)) {
    if (method === 'constructor' || method.startsWith('_')) continue;
    if (typeof library[name].prototype[method] === 'function' && !methods.has(method))
      problems.push(`${name}.${method} is in the library but not declared`);
  }
}
for (const name of Object.keys(library))
  if (!source.statements.some((s) => s.name?.text === name)) problems.push(`export ${name} is not declared`);

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`declarations match the library: ${declared.size} classes, ${Object.keys(library).length} exports`);
