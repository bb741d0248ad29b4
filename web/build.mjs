// Builds the editor into dist/ (or the directory given with --outdir): a minified, hashed
// JavaScript bundle and stylesheet under assets/, and index.html that references them.
// The output depends only on the sources and the locked package versions, so CI can rebuild
// and compare (check-build.sh).
import * as esbuild from 'esbuild'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const arg = process.argv.indexOf('--outdir')
const outdir = path.resolve(arg > 0 ? process.argv[arg + 1] : path.join(here, 'dist'))

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  entryNames: 'assets/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  outdir,
  write: false,
  metafile: true,
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'warning'
})

await rm(outdir, { recursive: true, force: true })
let js = ''
let css = ''
for (const f of result.outputFiles) {
  await mkdir(path.dirname(f.path), { recursive: true })
  await writeFile(f.path, f.contents)
  const rel = '/' + path.relative(outdir, f.path).split(path.sep).join('/')
  if (rel.endsWith('.js')) js = rel
  if (rel.endsWith('.css')) css = rel
}
if (!js || !css) throw new Error('build: missing js or css output')
const html = (await readFile(path.join(here, 'src/index.html'), 'utf8'))
  .replace('{{JS}}', js).replace('{{CSS}}', css)
await writeFile(path.join(outdir, 'index.html'), html)
const size = result.outputFiles.map((f) => `${path.relative(outdir, f.path)} ${(f.contents.length / 1024).toFixed(1)} KB`)
console.log(`built ${path.relative(process.cwd(), outdir) || '.'}: index.html, ${size.join(', ')}`)
