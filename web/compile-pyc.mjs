// compile-pyc.mjs — build.py runs this with Node.js: byte-compiles the browser
// wheel's Python files with Pyodide's own CPython (the .pyc format is the
// interpreter's: the build machine's Python cannot write 3.14's), so the
// browser imports pytrigger without compiling it on every page load.
//
//   node web/compile-pyc.mjs <pyodide dir> <source dir>
//
// <source dir> is mounted into Pyodide's file system (NODEFS) and every .py
// file under it gets __pycache__/<name>.<cache tag>.pyc beside it, written as
// "unchecked-hash" pycs: valid whatever the files' times after the wheel is
// unpacked (the wheel's contents never change under its name).
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [dir, src] = process.argv.slice(2);
if (!dir || !src) {
  console.error('usage: node compile-pyc.mjs <pyodide dir> <source dir>');
  process.exit(2);
}
const indexURL = path.resolve(dir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(indexURL + 'pyodide.mjs').href);
const pyodide = await loadPyodide({ indexURL, stdout: () => {}, stderr: (l) => console.error(l) });
pyodide.FS.mkdir('/src');
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.resolve(src) }, '/src');
const ok = pyodide.runPython(`
import compileall, py_compile, sys
ok = compileall.compile_dir("/src", quiet=1, workers=1,
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print(sys.implementation.cache_tag)
ok
`);
if (!ok) {
  console.error('compile-pyc: compileall failed');
  process.exit(1);
}
