// Copies the pinned sockjs-client bundle from node_modules into our static files, and writes
// its provenance (clientsignal/sockjs_client.json): the npm package, its version and lockfile
// integrity, and the sha256 of every copied file. tests/packaging/test_bundle.py checks both.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const name = 'sockjs-client';
const pkgDir = path.join(root, 'node_modules', name);
const pkgRoot = path.join(root, 'clientsignal');
// Package-relative destination -> source in the npm package. The source map too:
// ManifestStaticFilesStorage follows the bundle's sourceMappingURL. The license travels with
// the copy (MIT asks for it), outside static/ like the provenance file.
const files = {
  'static/clientsignal/sockjs.min.js': 'dist/sockjs.min.js',
  'static/clientsignal/sockjs.min.js.map': 'dist/sockjs.min.js.map',
  'sockjs_client.LICENSE': 'LICENSE',
};
const provenancePath = path.join(pkgRoot, 'sockjs_client.json');

function readJSON(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
  console.error('vendor_sockjs: ' + pkgDir + ' is missing; run `npm ci` first.');
  process.exit(1);
}
const version = readJSON(path.join(pkgDir, 'package.json')).version;
const pinned = readJSON(path.join(root, 'package.json')).devDependencies[name];
if (version !== pinned) {
  console.error('vendor_sockjs: node_modules has ' + name + ' ' + version + ' but package.json ' +
    'pins ' + pinned + '; run `npm ci` first.');
  process.exit(1);
}
const locked = readJSON(path.join(root, 'package-lock.json')).packages['node_modules/' + name];

const provenance = {
  package: name,
  version: version,
  license: readJSON(path.join(pkgDir, 'package.json')).license,
  integrity: locked.integrity,
  files: {},
};
for (const [dest, source] of Object.entries(files)) {
  const target = path.join(pkgRoot, dest);
  fs.mkdirSync(path.dirname(target), {recursive: true});
  fs.copyFileSync(path.join(pkgDir, source), target);
  const sha256 = crypto.createHash('sha256').update(fs.readFileSync(target)).digest('hex');
  provenance.files[dest] = {source: source, sha256: sha256};
}
fs.writeFileSync(provenancePath, JSON.stringify(provenance, null, 2) + '\n');
console.log('vendor_sockjs: copied ' + name + ' ' + version + ' (' + Object.values(files).join(', ') +
  ') into ' + path.relative(root, pkgRoot) + '/, provenance in ' +
  path.relative(root, provenancePath));
