// Copies the pinned sockjs-client bundle from node_modules into our static files.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const pkgDir = path.join(root, 'node_modules', 'sockjs-client');
const static_ = path.join(root, 'clientsignal', 'static', 'clientsignal');
// The source map too: ManifestStaticFilesStorage follows the bundle's sourceMappingURL.
const files = ['sockjs.min.js', 'sockjs.min.js.map'];
const source = path.join(pkgDir, 'dist', files[0]);

if (!fs.existsSync(source)) {
  console.error('vendor_sockjs: ' + source + ' is missing; run `npm ci` first.');
  process.exit(1);
}
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
for (const name of files) {
  fs.copyFileSync(path.join(pkgDir, 'dist', name), path.join(static_, name));
}
console.log('vendor_sockjs: copied sockjs-client ' + version + ' (' + files.join(', ') + ') to ' +
  path.relative(root, static_));
